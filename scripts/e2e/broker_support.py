"""Fixtures and paho-mqtt helpers for the broker end-to-end tests (test_broker*.py).

MQTTH_E2E_TARGET=mosquitto runs the protocol tests against Debian's mosquitto instead of
`mqtt-harness broker`: that is how the tests themselves are checked against an
independent broker (tests marked `embedded_only` are skipped there, and the
`engine_lacks` xfail markers apply only to the embedded broker).
"""
import os
import queue
import threading
import time

import paho.mqtt.client as paho
import pytest

from conftest import read_listening_line

TARGET = os.environ.get("MQTTH_E2E_TARGET", "embedded")

embedded_only = pytest.mark.skipif(TARGET != "embedded", reason="checks mqtt-harness broker itself")


def engine_lacks(what: str):
    """Strict xfail for behaviour the broker engine does not implement yet: the test turns
    into a failure (XPASS strict) the day the engine gains it, so the marker gets removed."""
    return pytest.mark.xfail(TARGET == "embedded", strict=True, reason=f"engine lacks {what}")


@pytest.fixture
def start_broker(harness, procs):
    """Factory: start_broker(*extra_args) -> (host, port, proc) for `mqtt-harness broker`."""

    def start(*extra_args):
        proc = procs.start([harness, "broker", "--listen", "127.0.0.1:0", *extra_args])
        host, port = read_listening_line(proc)
        return host, port, proc

    return start


@pytest.fixture
def broker(request):
    """(host, port) of the broker under test: the embedded one unless MQTTH_E2E_TARGET says."""
    if TARGET == "mosquitto":
        return request.getfixturevalue("mosquitto")
    return request.getfixturevalue("embedded_broker")


VERSIONS = {"3.1.1": paho.MQTTv311, "5": paho.MQTTv5}


class PahoClient:
    """paho-mqtt client with blocking, time-bounded helpers. Received messages go to a
    queue; every wait raises TimeoutError instead of hanging."""

    _ids = 0

    def __init__(self, host, port, version="5", client_id=None, clean=True, session_expiry=None,
                 keepalive=30, will=None, username=None, password=None):
        PahoClient._ids += 1
        self.client_id = client_id or f"e2e-{os.getpid()}-{PahoClient._ids}"
        self.version = version
        self.host, self.port = host, port
        self.clean, self.session_expiry, self.keepalive = clean, session_expiry, keepalive
        proto = VERSIONS[version]
        if proto == paho.MQTTv5:
            self.client = paho.Client(self.client_id, protocol=proto)
        else:
            self.client = paho.Client(self.client_id, clean_session=clean, protocol=proto)
        if will:
            self.client.will_set(*will)
        if username is not None:
            self.client.username_pw_set(username, password)
        self.messages: "queue.Queue[paho.MQTTMessage]" = queue.Queue()
        self._connected = threading.Event()
        self._disconnected = threading.Event()
        self._subacks: dict[int, object] = {}
        self._sub_event = threading.Condition()
        self.connack = None
        self.connack_properties = None
        self.client.on_connect = self._on_connect
        self.client.on_disconnect = self._on_disconnect
        self.client.on_message = lambda c, u, m: self.messages.put(m)
        self.client.on_subscribe = self._on_subscribe
        self.client.reconnect_delay_set(60, 120)  # tests reconnect explicitly

    def _on_connect(self, client, userdata, flags, rc, properties=None):
        self.connack_properties = properties
        self.connack = (bool(flags.get("session present")), int(rc) if not hasattr(rc, "value") else rc.value)
        self._connected.set()

    def _on_disconnect(self, client, userdata, rc, properties=None):
        self._disconnected.set()

    def _on_subscribe(self, client, userdata, mid, granted, properties=None):
        with self._sub_event:
            self._subacks[mid] = granted
            self._sub_event.notify_all()

    def connect(self, timeout=10.0):
        """Connects; returns (session_present, reason_code)."""
        self._connected.clear()
        self._disconnected.clear()
        if self.version == "5":
            from paho.mqtt.properties import Properties
            from paho.mqtt.packettypes import PacketTypes
            props = None
            if self.session_expiry is not None:
                props = Properties(PacketTypes.CONNECT)
                props.SessionExpiryInterval = self.session_expiry
            self.client.connect(self.host, self.port, self.keepalive, clean_start=self.clean,
                                properties=props)
        else:
            self.client.connect(self.host, self.port, self.keepalive)
        self.client.loop_start()
        if not self._connected.wait(timeout):
            raise TimeoutError(f"{self.client_id}: no CONNACK within {timeout}s")
        return self.connack

    def subscribe(self, topic_filter, qos=0, timeout=10.0):
        if self.version == "5":
            from paho.mqtt.subscribeoptions import SubscribeOptions
            rc, mid = self.client.subscribe(topic_filter, options=SubscribeOptions(qos=qos))
        else:
            rc, mid = self.client.subscribe(topic_filter, qos)
        assert rc == paho.MQTT_ERR_SUCCESS, rc
        deadline = time.monotonic() + timeout
        with self._sub_event:
            while mid not in self._subacks:
                if not self._sub_event.wait(max(0.0, deadline - time.monotonic())):
                    raise TimeoutError(f"{self.client_id}: no SUBACK within {timeout}s")
            granted = self._subacks.pop(mid)
        first = granted[0]
        return first.value if hasattr(first, "value") else first

    def publish(self, topic, payload, qos=0, retain=False, properties=None, timeout=10.0):
        info = self.client.publish(topic, payload, qos, retain, properties)
        info.wait_for_publish(timeout)
        if not info.is_published():
            raise TimeoutError(f"{self.client_id}: publish to {topic} not completed in {timeout}s")

    def publish_many(self, topic, payloads, qos=0, timeout=30.0):
        """Publishes all payloads back to back (paho pipelines them), then waits for every
        one to complete (PUBACK / PUBCOMP / written)."""
        infos = [self.client.publish(topic, p, qos) for p in payloads]
        deadline = time.monotonic() + timeout
        for info in infos:
            info.wait_for_publish(max(0.0, deadline - time.monotonic()))
            if not info.is_published():
                raise TimeoutError(f"{self.client_id}: {len(payloads)} publishes not completed in {timeout}s")

    def wait_messages(self, count, timeout=10.0):
        """The next `count` messages, in arrival order."""
        out = []
        deadline = time.monotonic() + timeout
        while len(out) < count:
            try:
                out.append(self.messages.get(timeout=max(0.0, deadline - time.monotonic())))
            except queue.Empty:
                raise TimeoutError(f"{self.client_id}: got {len(out)} of {count} messages in {timeout}s")
        return out

    def until_marker(self, marker: bytes, timeout=10.0):
        """Every message up to (not including) the first whose payload is `marker`. Used
        instead of 'wait and see' windows: a topic's messages are forwarded in order
        (MQTT-4.6.0-6), so once the marker published after the data is here, all the
        data (and any duplicate of it) is too."""
        out = []
        deadline = time.monotonic() + timeout
        while True:
            try:
                m = self.messages.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                raise TimeoutError(f"{self.client_id}: marker {marker!r} not received in {timeout}s "
                                   f"({len(out)} messages before it)")
            if m.payload == marker:
                return out
            out.append(m)

    def disconnect(self, timeout=10.0):
        self.client.disconnect()
        self._disconnected.wait(timeout)
        self.client.loop_stop()

    def stop(self):
        try:
            self.client.disconnect()
        except Exception:
            pass
        self.client.loop_stop()


@pytest.fixture
def clients():
    """Factory for PahoClient; every client is stopped at teardown."""
    made = []

    def make(host_port, **kwargs):
        c = PahoClient(*host_port, **kwargs)
        made.append(c)
        return c

    yield make
    for c in made:
        c.stop()
