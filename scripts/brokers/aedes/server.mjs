// aedes on 127.0.0.1:PORT for the end-to-end tests (scripts/e2e/conftest.py fixture `aedes`).
//   node server.mjs PORT      (PORT 0: any free port)
// Prints "listening on 127.0.0.1:PORT" once the port accepts connections; on SIGTERM or
// SIGINT closes the listener and every client, then exits 0.
import net from 'node:net'
import { Aedes } from 'aedes'

const port = Number(process.argv[2])
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  console.error('usage: node server.mjs PORT')
  process.exit(2)
}

const broker = await Aedes.createBroker()
const server = net.createServer(broker.handle)
server.on('error', (err) => {
  console.error(`aedes: ${err.message}`)
  process.exit(1)
})
server.listen(port, '127.0.0.1', () => {
  const { address, port: bound } = server.address()
  console.log(`listening on ${address}:${bound}`)
})

function stop () {
  server.close()
  broker.close(() => process.exit(0))
}
process.once('SIGTERM', stop)
process.once('SIGINT', stop)
