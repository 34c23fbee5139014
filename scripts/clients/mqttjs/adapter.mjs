// mqtt-harness client adapter for MQTT.js (npm `mqtt`, pinned by package-lock.json here).
//
// usage: node scripts/clients/mqttjs/adapter.mjs HOST PORT
//
// Speaks the adapter protocol of docs/clients.md: one command per stdin line, one event per
// stdout line. The client under test is MQTT.js's own: its network loop, its reconnects
// (reconnectPeriod 1 s), its in-flight store and its re-sends; the adapter only turns lines
// into API calls and events into lines.
import readline from 'node:readline'
import mqtt from 'mqtt'

const [host, port] = process.argv.slice(2)
let client = null

function say (line) {
  process.stdout.write(line + '\n')
}

function connect (options) {
  const v5 = options.protocol === '5' || options.protocol === '5.0'
  const clean = (options.clean ?? '1') === '1'
  const settings = {
    protocolVersion: v5 ? 5 : 4,
    clientId: options.client_id ?? 'mqtth-mqttjs',
    clean,
    keepalive: Number(options.keepalive ?? '60'),
    reconnectPeriod: 1000,
    connectTimeout: 5000
  }
  // A session outlives the connection only with a Session Expiry Interval (5.0).
  if (v5 && !clean) settings.properties = { sessionExpiryInterval: 300 }
  const c = mqtt.connect(`mqtt://${host}:${port}`, settings)
  c.on('connect', (connack) => say(`connected ${connack.sessionPresent ? 1 : 0}`))
  c.on('message', (topic, payload, packet) => say(`received ${topic} ${packet.qos} ${payload.toString('utf8')}`))
  c.on('close', () => say('closed'))
  c.on('error', (err) => {
    // A refused CONNACK is reported as an error whose code is its return / reason code.
    if (typeof err.code === 'number' && err.code !== 0) say(`refused ${err.code}`)
    else say(`error ${String(err.message).replace(/\n/g, ' ')}`)
  })
  return c
}

const lines = readline.createInterface({ input: process.stdin, terminal: false })
lines.on('line', (raw) => {
  const words = raw.replace(/\r$/, '').split(' ')
  const verb = words[0]
  try {
    if (verb === 'connect') {
      client = connect(Object.fromEntries(words.slice(1).filter((w) => w.includes('=')).map((w) => {
        const i = w.indexOf('=')
        return [w.slice(0, i), w.slice(i + 1)]
      })))
    } else if (verb === 'publish') {
      client.publish(words[1], words.slice(3).join(' '), { qos: Number(words[2]) }, (err) => {
        if (err) say(`error publish: ${err.message}`)
      })
    } else if (verb === 'subscribe') {
      client.subscribe(words[1], { qos: Number(words[2]) }, (err) => {
        if (err) say(`error subscribe: ${err.message}`)
      })
    } else if (verb === 'disconnect') {
      client.end()
    } else {
      say(`error unknown command ${verb}`)
    }
  } catch (e) { // the harness sees the line; the adapter keeps going
    say(`error ${verb}: ${e.message}`)
  }
})
// At the end of its input the adapter exits (status 0), as the protocol asks.
lines.on('close', () => {
  if (client) client.end(true)
  process.exit(0)
})
