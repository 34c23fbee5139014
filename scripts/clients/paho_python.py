#!/usr/bin/python3
"""mqtt-harness client adapter for paho-mqtt for Python (python3-paho-mqtt 1.6).

usage: /usr/bin/python3 paho_python.py HOST PORT

Speaks the adapter protocol of docs/clients.md: one command per stdin line, one event per
stdout line. The client under test is paho's own: its network loop (loop_start), its
reconnects (after 1 s), its in-flight store and its re-sends; the adapter only turns lines
into API calls and callbacks into lines.
"""
import sys
import threading

import paho.mqtt.client as mqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

_out = threading.Lock()


def say(line):
    with _out:
        sys.stdout.write(line + "\n")
        sys.stdout.flush()


def connect(host, port, options):
    v5 = options.get("protocol", "3.1.1") in ("5", "5.0")
    clean = options.get("clean", "1") == "1"
    keepalive = int(options.get("keepalive", "60"))
    client_id = options.get("client_id", "mqtth-paho")
    if v5:
        client = mqtt.Client(client_id=client_id, protocol=mqtt.MQTTv5)
    else:
        client = mqtt.Client(client_id=client_id, clean_session=clean, protocol=mqtt.MQTTv311)

    def on_connect(_client, _userdata, flags, rc, _properties=None):
        code = rc.value if hasattr(rc, "value") else rc
        if code == 0:
            say("connected %d" % (1 if flags.get("session present") else 0))
        else:
            say("refused %d" % code)

    def on_message(_client, _userdata, message):
        say("received %s %d %s" % (message.topic, message.qos, message.payload.decode("utf-8", "replace")))

    def on_disconnect(_client, _userdata, _rc, _properties=None):
        say("closed")

    client.on_connect = on_connect
    client.on_message = on_message
    client.on_disconnect = on_disconnect
    client.reconnect_delay_set(min_delay=1, max_delay=1)
    if v5:
        properties = None
        if not clean:
            # A session outlives the connection only with a Session Expiry Interval (5.0).
            properties = Properties(PacketTypes.CONNECT)
            properties.SessionExpiryInterval = 300
        client.connect_async(host, port, keepalive, clean_start=clean, properties=properties)
    else:
        client.connect_async(host, port, keepalive)
    client.loop_start()
    return client


def main():
    host, port = sys.argv[1], int(sys.argv[2])
    client = None
    for raw in sys.stdin:
        words = raw.rstrip("\r\n").split(" ")
        verb = words[0]
        try:
            if verb == "connect":
                client = connect(host, port, dict(w.split("=", 1) for w in words[1:] if "=" in w))
            elif verb == "publish":
                client.publish(words[1], " ".join(words[3:]), int(words[2]))
            elif verb == "subscribe":
                client.subscribe(words[1], int(words[2]))
            elif verb == "disconnect":
                client.disconnect()
            else:
                say("error unknown command " + verb)
        except Exception as e:  # the harness sees the line; the adapter keeps going
            say("error %s: %s" % (verb, e))
    if client is not None:
        client.loop_stop()


if __name__ == "__main__":
    main()
