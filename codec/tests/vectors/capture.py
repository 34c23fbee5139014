#!/usr/bin/python3
"""Capture real MQTT bytes for the codec's golden vectors.

Starts mosquitto on a free 127.0.0.1 port and a loopback relay in front of it; runs one
client command (or a paho snippet) against the relay and prints every packet it saw, one
line each: direction (c>s / s>c) and hex. Bounded in time; stops every process it starts.

  /usr/bin/python3 capture.py -- mosquitto_pub -V mqttv311 -q 1 -t a/b -m hi -i pub1
  /usr/bin/python3 capture.py --paho 'c.publish("a/b", b"x", qos=2)' --paho-version 5

The port in the command is written as PORT and replaced by the relay's port.
"""
import argparse, os, select, socket, subprocess, sys, tempfile, threading, time


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def split_packets(data):
    out, i = [], 0
    while i < len(data):
        j, mult, rl = i + 1, 1, 0
        while j < len(data):
            b = data[j]; j += 1
            rl += (b & 0x7F) * mult; mult *= 128
            if not b & 0x80:
                break
        out.append(data[i:j + rl]); i = j + rl
    return out


def relay(listen, target_port, log, stop):
    listen.settimeout(10)
    try:
        client, _ = listen.accept()
    except socket.timeout:
        return
    server = socket.create_connection(("127.0.0.1", target_port), timeout=5)
    bufs = {"c>s": b"", "s>c": b""}
    socks = {client: ("c>s", server), server: ("s>c", client)}
    deadline = time.time() + 10
    while time.time() < deadline and not stop.is_set():
        r, _, _ = select.select(list(socks), [], [], 0.2)
        closed = False
        for s in r:
            d = s.recv(65536)
            direction, other = socks[s]
            if not d:
                closed = True
                break
            bufs[direction] += d
            log.append((direction, d))
            other.sendall(d)
        if closed:
            break
    client.close(); server.close()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--paho")
    ap.add_argument("--paho-version", default="3.1.1")
    ap.add_argument("cmd", nargs="*")
    a = ap.parse_args()
    broker_port, relay_port = free_port(), free_port()
    with tempfile.TemporaryDirectory() as tmp:
        conf = os.path.join(tmp, "m.conf")
        with open(conf, "w") as f:
            f.write(f"listener {broker_port} 127.0.0.1\nallow_anonymous true\n")
        broker = subprocess.Popen(["mosquitto", "-c", conf], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            for _ in range(100):
                try:
                    socket.create_connection(("127.0.0.1", broker_port), timeout=1).close(); break
                except OSError:
                    time.sleep(0.05)
            listen = socket.socket(); listen.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            listen.bind(("127.0.0.1", relay_port)); listen.listen(1)
            log, stop = [], threading.Event()
            t = threading.Thread(target=relay, args=(listen, broker_port, log, stop)); t.start()
            if a.paho:
                import paho.mqtt.client as mqtt
                proto = mqtt.MQTTv5 if a.paho_version == "5" else (mqtt.MQTTv31 if a.paho_version == "3.1" else mqtt.MQTTv311)
                c = mqtt.Client(client_id="paho1", protocol=proto)
                ns = {"c": c, "mqtt": mqtt, "PORT": relay_port, "time": time}
                exec(a.paho, ns)
                c.loop_stop() if False else None
            else:
                cmd = [x.replace("PORT", str(relay_port)) for x in a.cmd]
                subprocess.run(cmd, timeout=10, stdout=subprocess.DEVNULL)
            time.sleep(0.3); stop.set(); t.join(12); listen.close()
        finally:
            broker.terminate()
            try:
                broker.wait(5)
            except subprocess.TimeoutExpired:
                broker.kill()
    streams = {"c>s": b"", "s>c": b""}
    order = []
    for d, chunk in log:
        streams[d] += chunk
    for d in ("c>s", "s>c"):
        for p in split_packets(streams[d]):
            print(d, p.hex(" "))


if __name__ == "__main__":
    main()
