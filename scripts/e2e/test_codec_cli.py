"""End-to-end tests of `mqtt-harness decode` / `encode` (docs/decode-json.md).

Inputs are laid out by hand from the MQTT 3.1.1 / 5.0 packet layouts (section cited per
case), and the decoder is compared with an independent one: Wireshark's MQTT dissector,
on traffic that mosquitto's own clients exchange with mosquitto.
"""
import json
import os
import selectors
import shutil
import signal
import socket
import struct
import subprocess
import time

import pytest

TIMEOUT = 30  # seconds, for every command

# Hand-made packets (hex), with the section of the spec they follow.
CONNECT_V311 = "10 1c 0004 4d515454 04 ee 003c 0002 6331 0001 77 0003 627965 0001 75 0001 70"  # 3.1
CONNECT_V5 = "10 12 0004 4d515454 05 02 003c 03 21 0014 0002 6335"  # 3.1, receive_maximum 20
PUBLISH_V311_QOS1 = "32 09 0003 612f62 000a 6869"  # 3.3: "a/b", id 10, "hi"
PUBLISH_V5_PROPS = "30 0c 0001 74 07 26 0001 6b 0001 76 78"  # 3.3: "t", user_property k=v, "x"
PUBACK_V5_LONG = "40 04 000a 00 00"  # 3.4.2.1: reason code 0 and property length 0 written out
DISCONNECT = "e0 00"  # 3.14


def run(harness, *args, stdin=None):
    return subprocess.run([str(harness), *args], input=stdin, capture_output=True, timeout=TIMEOUT)


def lines(stdout: bytes):
    return [json.loads(line) for line in stdout.decode().splitlines() if line.strip()]


def compact(hex_text: str) -> str:
    return bytes.fromhex(hex_text).hex()


# --- decode: valid input ------------------------------------------------------------------

def test_decode_hex_prints_one_json_object_per_packet(harness):
    r = run(harness, "decode", "--hex", f"{CONNECT_V311} {PUBLISH_V311_QOS1} {DISCONNECT}")
    assert r.returncode == 0, r.stderr
    packets = lines(r.stdout)
    assert [p["type"] for p in packets] == ["CONNECT", "PUBLISH", "DISCONNECT"]
    assert packets[0] == {"type": "CONNECT", "protocol_name": "MQTT", "protocol_version": 4,
                          "clean_start": True, "keep_alive": 60, "client_id": "c1",
                          "will": {"topic": "w", "payload_hex": "627965", "qos": 1, "retain": True},
                          "username": "u", "password_hex": "70"}
    assert packets[1] == {"type": "PUBLISH", "dup": False, "qos": 1, "retain": False, "topic": "a/b",
                          "packet_id": 10, "payload_hex": "6869"}
    assert packets[2] == {"type": "DISCONNECT"}  # 3.1.1: no reason code after a 3.1.1 CONNECT


def test_decode_uses_the_connect_version_for_the_packets_that_follow(harness):
    r = run(harness, "decode", "--hex", f"{CONNECT_V5} {PUBLISH_V5_PROPS} {PUBACK_V5_LONG}")
    assert r.returncode == 0, r.stderr
    connect, publish, puback = lines(r.stdout)
    assert connect["protocol_version"] == 5
    assert connect["properties"] == {"receive_maximum": 20}
    assert publish["properties"] == {"user_property": [["k", "v"]]}
    assert puback["reason_code"] == 0 and puback["remaining_length"] == 4


def test_decode_protocol_option_overrides_the_default(harness):
    # The same bytes are a 3.1.1 PUBLISH with payload 07 26 ... or a 5.0 PUBLISH with properties.
    v311 = lines(run(harness, "decode", "--protocol", "3.1.1", "--hex", PUBLISH_V5_PROPS).stdout)[0]
    v5 = lines(run(harness, "decode", "--protocol", "5", "--hex", PUBLISH_V5_PROPS).stdout)[0]
    assert "properties" not in v311 and v311["payload_hex"] == compact("07 26 0001 6b 0001 76 78")
    assert v5["payload_hex"] == "78"


def test_decode_reads_raw_bytes_from_a_file_and_from_stdin(harness, tmp_path):
    raw = bytes.fromhex(f"{CONNECT_V311} {PUBLISH_V311_QOS1}")
    path = tmp_path / "stream.bin"
    path.write_bytes(raw)
    from_file = run(harness, "decode", "--file", path)
    from_stdin = run(harness, "decode", "-", stdin=raw)
    assert from_file.returncode == 0 and from_stdin.returncode == 0
    assert from_file.stdout == from_stdin.stdout
    assert len(lines(from_file.stdout)) == 2


def test_decode_of_empty_input_prints_nothing(harness):
    r = run(harness, "decode", "-", stdin=b"")
    assert r.returncode == 0 and r.stdout == b""


# --- decode: malformed and truncated input ------------------------------------------------

def error_line(r):
    assert r.returncode == 1, (r.stdout, r.stderr)
    out = lines(r.stdout)
    err = out[-1]
    assert set(err) >= {"error", "spec", "offset"}, err
    return out[:-1], err


def test_decode_qos3_publish_reports_MQTT_3_3_1_4_at_its_stream_offset(harness):
    # 3.3.1.2: QoS bits 11 are malformed. The bad packet starts after the 11-byte PUBLISH.
    good, err = error_line(run(harness, "decode", "--hex", f"{PUBLISH_V311_QOS1} 36 05 0001 74 0001",
                               "--protocol", "3.1.1"))
    assert [p["type"] for p in good] == ["PUBLISH"]
    assert err["spec"] == "MQTT-3.3.1-4"
    assert err["offset"] == 11
    assert err["code"] == "malformed_packet"


def test_decode_five_byte_remaining_length_reports_MQTT_1_5_5_1(harness):
    # 1.5.5: a Variable Byte Integer has at most four bytes.
    _, err = error_line(run(harness, "decode", "--hex", "30 ff ff ff ff 7f"))
    assert err["spec"] == "MQTT-1.5.5-1"
    assert 1 <= err["offset"] <= 5  # within the remaining length field


def test_decode_reserved_flags_report_MQTT_2_1_3_1(harness):
    # 2.1.3: PUBACK's fixed-header flags are 0000; 0x41 sets a reserved bit.
    _, err = error_line(run(harness, "decode", "--protocol", "5", "--hex", "41 02 0001"))
    assert err["spec"] == "MQTT-2.1.3-1"
    assert err["offset"] == 0


def test_decode_topic_with_wildcard_reports_MQTT_3_3_2_2(harness):
    # 3.3.2.1: a Topic Name contains no wildcard; "a/+" at offset 2 of the packet.
    good, err = error_line(run(harness, "decode", "--protocol", "3.1.1",
                               "--hex", f"{DISCONNECT} 30 06 0003 612f2b 78"))
    assert err["spec"] == "MQTT-3.3.2-2"
    assert err["offset"] >= 2  # after the DISCONNECT, inside the PUBLISH


@pytest.mark.parametrize("cut", [1, 2, 5, 10])
def test_decode_truncated_stream_is_an_error_at_the_first_missing_byte(harness, cut):
    stream = bytes.fromhex(f"{PUBLISH_V311_QOS1} {PUBLISH_V311_QOS1}")
    truncated = stream[: 11 + cut]
    good, err = error_line(run(harness, "decode", "--protocol", "3.1.1", "-", stdin=truncated))
    assert [p["type"] for p in good] == ["PUBLISH"]
    assert err["offset"] == len(truncated)
    assert "truncated" in err["error"]


def test_decode_packet_above_max_packet_size_is_rejected_from_its_header(harness):
    _, err = error_line(run(harness, "decode", "--protocol", "3.1.1", "--max-packet-size", "10",
                            "--hex", PUBLISH_V311_QOS1))
    assert err["code"] == "packet_too_large"


# --- arguments ----------------------------------------------------------------------------

@pytest.mark.parametrize("args", [
    ["decode"],
    ["decode", "--hex"],
    ["decode", "--hex", "abc"],
    ["decode", "--hex", "zz"],
    ["decode", "--protocol", "4.0", "--hex", "c000"],
    ["decode", "--hex", "c000", "--file", "x"],
    ["decode", "--frobnicate"],
    ["decode", "--file", "/nonexistent/stream.bin"],
    ["encode"],
    ["encode", "--json"],
    ["encode", "--protocol", "6", "--json", "{}"],
    ["encode", "--file", "/nonexistent/packets.jsonl"],
])
def test_bad_arguments_exit_2_with_a_message(harness, args):
    r = run(harness, *args)
    assert r.returncode == 2, (args, r.stdout, r.stderr)
    assert b"mqtt-harness" in r.stderr and len(r.stderr) > 20


@pytest.mark.parametrize("command", ["decode", "encode"])
def test_help_describes_the_command(harness, command):
    r = run(harness, command, "--help")
    assert r.returncode == 0
    assert r.stdout.startswith(f"usage: mqtt-harness {command}".encode())


# --- encode and the round trip ----------------------------------------------------------

def test_encode_json_prints_the_bytes_as_hex(harness):
    r = run(harness, "encode", "--protocol", "3.1.1", "--json",
            '{"type":"PUBLISH","qos":1,"topic":"a/b","packet_id":10,"payload_hex":"6869"}')
    assert r.returncode == 0, r.stderr
    assert r.stdout.decode().strip() == compact(PUBLISH_V311_QOS1)


def test_encode_error_names_the_line_and_the_json_path(harness):
    r = run(harness, "encode", "-", stdin=b'{"type":"PINGREQ"}\n{"type":"PUBLISH","topic":"t","qos":7}\n')
    assert r.returncode == 1
    assert b"<stdin>:2" in r.stderr and b"/qos" in r.stderr


def test_encode_refuses_a_decode_error_report(harness):
    r = run(harness, "encode", "-", stdin=b'{"error":"x","spec":null,"offset":0}\n')
    assert r.returncode == 1 and b"error report" in r.stderr


ROUND_TRIP_STREAMS = [
    # (name, --protocol or None, hex)
    ("v311_session", None, f"{CONNECT_V311} {PUBLISH_V311_QOS1} 40 02 000a 82 08 0002 0003 612f23 01 "
                           "90 03 0002 01 a2 05 0003 0001 74 b0 02 0003 c0 00 d0 00 e0 00"),
    ("v5_session", None, f"{CONNECT_V5} {PUBLISH_V5_PROPS} {PUBACK_V5_LONG} 40 03 000b 00 40 02 000c "
                         "50 03 000d 10 62 02 000d 70 04 000d 00 00 "
                         "82 0f 0002 02 0b 05 0003 612f23 2d 0001 62 00 90 05 0002 00 01 80 "
                         "e0 01 00 e0 02 00 00 e0 00"),
    ("v5_broker_side", "5", "20 0b 00 00 08 22 000a 12 0002 6964 "
                            "30 16 0001 74 12 26 0001 61 0001 31 03 0001 74 26 0001 62 0001 32 "
                            "f0 0e 18 0c 15 0005 534352414d 16 0001 ff e0 01 8e"),
]


@pytest.mark.parametrize("name,protocol,hex_text", ROUND_TRIP_STREAMS, ids=[s[0] for s in ROUND_TRIP_STREAMS])
def test_decode_piped_into_encode_reproduces_the_input_bytes(harness, name, protocol, hex_text):
    proto = ["--protocol", protocol] if protocol else []
    decoded = run(harness, "decode", *proto, "--hex", hex_text)
    assert decoded.returncode == 0, decoded.stdout + decoded.stderr
    encoded = run(harness, "encode", *proto, "-", stdin=decoded.stdout)
    assert encoded.returncode == 0, encoded.stderr
    assert "".join(encoded.stdout.decode().split()) == compact(hex_text)


def test_round_trip_through_a_shell_pipe(harness):
    # The documented usage: mqtt-harness decode --hex ... | mqtt-harness encode -
    h = str(harness)
    r = subprocess.run(f"'{h}' decode --hex '{CONNECT_V5} {PUBLISH_V5_PROPS}' | '{h}' encode -",
                       shell=True, capture_output=True, timeout=TIMEOUT)
    assert r.returncode == 0, r.stderr
    assert "".join(r.stdout.decode().split()) == compact(f"{CONNECT_V5} {PUBLISH_V5_PROPS}")


# --- differential check against Wireshark's MQTT dissector ----------------------------------

TYPE_NAMES = [None, "CONNECT", "CONNACK", "PUBLISH", "PUBACK", "PUBREC", "PUBREL", "PUBCOMP", "SUBSCRIBE",
              "SUBACK", "UNSUBSCRIBE", "UNSUBACK", "PINGREQ", "PINGRESP", "DISCONNECT", "AUTH"]

# MQTT 5.0 section 2.2.2.2, property identifiers.
PROPERTY_IDS = {
    "payload_format_indicator": 0x01, "message_expiry_interval": 0x02, "content_type": 0x03,
    "response_topic": 0x08, "correlation_data": 0x09, "subscription_identifier": 0x0B,
    "session_expiry_interval": 0x11, "assigned_client_identifier": 0x12, "server_keep_alive": 0x13,
    "authentication_method": 0x15, "authentication_data": 0x16, "request_problem_information": 0x17,
    "will_delay_interval": 0x18, "request_response_information": 0x19, "response_information": 0x1A,
    "server_reference": 0x1C, "reason_string": 0x1F, "receive_maximum": 0x21, "topic_alias_maximum": 0x22,
    "topic_alias": 0x23, "maximum_qos": 0x24, "retain_available": 0x25, "user_property": 0x26,
    "maximum_packet_size": 0x27, "wildcard_subscription_available": 0x28,
    "subscription_identifier_available": 0x29, "shared_subscription_available": 0x2A,
}


class Pairs(list):
    """A JSON object as its (key, value) pairs: tshark repeats keys (one per property)."""


def flatten(node, out):
    """All (key, leaf value) pairs of a tshark JSON subtree, in document order."""
    if isinstance(node, Pairs):
        for key, value in node:
            if isinstance(value, (Pairs, list)):
                flatten(value, out)
            else:
                out.append((key, value))
    elif isinstance(node, list):
        for item in node:
            flatten(item, out)
    return out


def mqtt_pdus(layers: Pairs):
    pdus = []
    for key, value in layers:
        if key != "mqtt":
            continue
        pdus.extend(value if isinstance(value, list) and not isinstance(value, Pairs) else [value])
    return pdus


def first(fields, key, default=None):
    return next((v for k, v in fields if k == key), default)


def every(fields, key):
    return [v for k, v in fields if k == key]


def ordered_properties(props: dict, order):
    """Our properties as a list of names in wire order (expanding repeated ones)."""
    if order:
        return list(order)
    names = []
    for name, value in props.items():
        count = len(value) if name in ("user_property", "subscription_identifier") else 1
        names.extend([name] * count)
    return names


def compare(ours: dict, fields: list, where: str):
    """Asserts that our decode of one packet agrees with the dissector's fields."""
    kind = TYPE_NAMES[int(first(fields, "mqtt.msgtype"))]
    assert ours["type"] == kind, where
    msgid = first(fields, "mqtt.msgid")
    if msgid is not None:
        assert ours["packet_id"] == int(msgid), where
    if kind == "PUBLISH":
        assert ours["topic"] == first(fields, "mqtt.topic"), where
        assert ours["qos"] == int(first(fields, "mqtt.qos")), where
        assert ours["retain"] == (first(fields, "mqtt.retain") == "1"), where
        assert ours["dup"] == (first(fields, "mqtt.dupflag") == "1"), where
        assert ours["payload_hex"] == first(fields, "mqtt.msg", "").replace(":", "").lower(), where
    if kind == "CONNECT":
        assert ours["protocol_version"] == int(first(fields, "mqtt.ver")), where
        assert ours["keep_alive"] == int(first(fields, "mqtt.kalive")), where
        assert ours["client_id"] == first(fields, "mqtt.clientid", ""), where
        assert ours["clean_start"] == (first(fields, "mqtt.conflag.cleansess") == "1"), where
        assert ("will" in ours) == (first(fields, "mqtt.conflag.willflag") == "1"), where
        if "will" in ours:
            assert ours["will"]["topic"] == first(fields, "mqtt.willtopic"), where
            assert ours["will"]["qos"] == int(first(fields, "mqtt.conflag.qos")), where
            assert ours["will"]["payload_hex"] == first(fields, "mqtt.willmsg", "").replace(":", "").lower(), where
        assert ours.get("username") == first(fields, "mqtt.username"), where
    if kind == "SUBSCRIBE":
        assert [s["filter"] for s in ours["subscriptions"]] == every(fields, "mqtt.topic"), where
        qos = every(fields, "mqtt.subscription_options_qos") or every(fields, "mqtt.sub.qos")
        assert [s["qos"] for s in ours["subscriptions"]] == [int(q, 0) for q in qos], where
    if kind == "SUBACK":
        codes = every(fields, "mqtt.suback.reason_code") or every(fields, "mqtt.suback.qos")
        assert ours["reason_codes"] == [int(c, 0) for c in codes], where
    if kind in ("PUBACK", "PUBREC", "PUBREL", "PUBCOMP", "DISCONNECT"):
        code = first(fields, f"mqtt.{kind.lower()}.reason_code")
        if code is not None:
            assert ours["reason_code"] == int(code, 0), where
    if kind == "CONNACK":
        code = first(fields, "mqtt.connack.reason_code") or first(fields, "mqtt.conack.val")
        assert ours["reason_code"] == int(code, 0), where
    if "properties" in ours:
        names = ordered_properties(ours["properties"], ours.get("property_order"))
        if "will" in ours:
            names += ordered_properties(ours["will"].get("properties", {}), ours["will"].get("property_order"))
        assert [PROPERTY_IDS[n] for n in names] == [int(i, 16) for i in every(fields, "mqtt.property_id")], where
        pairs = [tuple(p) for p in ours["properties"].get("user_property", [])]
        assert pairs == list(zip(every(fields, "mqtt.prop_key"), every(fields, "mqtt.prop_value"))), where
        if "content_type" in ours["properties"]:
            assert ours["properties"]["content_type"] == first(fields, "mqtt.property.content_type"), where
    return kind


def wait_for_stderr_line(proc, needle: str, timeout: float) -> str:
    sel = selectors.DefaultSelector()
    sel.register(proc.stderr, selectors.EVENT_READ)
    seen = b""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not sel.select(timeout=max(0.0, deadline - time.monotonic())):
            break
        chunk = os.read(proc.stderr.fileno(), 4096)
        if not chunk:
            break
        seen += chunk
        if needle.encode() in seen:
            return seen.decode(errors="replace")
    return seen.decode(errors="replace")


def frame_count(pcap, args) -> int:
    """Frames in a capture file that may still be being written (a cut last record is fine)."""
    out = subprocess.run(["tshark", "-r", pcap, *args, "-T", "fields", "-e", "frame.number"],
                         capture_output=True, timeout=TIMEOUT).stdout
    return len(out.split())


@pytest.fixture
def capture_lo(procs, tmp_path):
    """Returns start(port) -> stop() that captures TCP on `lo` to a pcapng file with dumpcap."""
    dumpcap = shutil.which("dumpcap")
    if not dumpcap or not shutil.which("tshark"):
        pytest.fail("tshark/dumpcap are not installed (scripts/setup.sh installs them)")
    pcap = tmp_path / "capture.pcapng"

    def start(port: int):
        proc = procs.start([dumpcap, "-i", "lo", "-f", f"tcp port {port}", "-w", pcap])
        seen = wait_for_stderr_line(proc, "Capturing on", timeout=15)
        if "Capturing on" not in seen:
            proc.poll()
            if proc.returncode is not None and ("ermission" in seen or "not permitted" in seen):
                pytest.skip(f"capturing on lo is not permitted here: {seen.strip()}")
            pytest.fail(f"dumpcap did not start capturing: {seen.strip()}")
        # "Capturing on" comes before packets are really captured: probe with bare TCP
        # connections (no payload) until one shows up in the file.
        deadline = time.monotonic() + 20
        while True:
            with socket.create_connection(("127.0.0.1", port), timeout=5):
                pass
            if frame_count(pcap, []) > 0:
                break
            if time.monotonic() > deadline:
                pytest.fail("dumpcap captured nothing on lo within 20s")
            time.sleep(0.2)

        def stop(connections: int):
            # libpcap hands packets over in blocks, and SIGINT drops a block not yet handed
            # over: wait until the file holds every client's DISCONNECT, then stop.
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline:
                if frame_count(pcap, ["-d", f"tcp.port=={port},mqtt", "-Y", "mqtt.msgtype==14"]) >= connections:
                    break
                time.sleep(0.2)
            proc.send_signal(signal.SIGINT)
            proc.wait(timeout=15)
            return pcap
        return stop
    return start


def client(procs, *args):
    exe = shutil.which(args[0])
    if not exe:
        pytest.fail(f"{args[0]} is not installed (scripts/setup.sh installs mosquitto-clients)")
    return procs.start([exe, *args[1:]])


def test_decode_agrees_with_wiresharks_mqtt_dissector_on_mosquitto_traffic(harness, mosquitto, procs,
                                                                          capture_lo):
    host, port = mosquitto
    stop = capture_lo(port)
    common = ["-h", host, "-p", str(port)]
    # Retained messages reach the subscribers whether they subscribe before or after.
    subs = [client(procs, "mosquitto_sub", *common, "-V", version, "-q", "2", "-t", "e2e/#", "-C", "3",
                   "-W", "20", "-i", f"sub-{version}")
            for version in ("mqttv311", "mqttv5")]
    pubs = [
        ["-V", "mqttv311", "-q", "1", "-r", "-t", "e2e/a", "-m", "hello", "-u", "user", "-P", "pass",
         "--will-topic", "e2e/will", "--will-payload", "bye", "--will-qos", "1", "-i", "pub-311"],
        ["-V", "mqttv5", "-q", "2", "-r", "-t", "e2e/b", "-m", "x", "-i", "pub-5-qos2",
         "-D", "publish", "user-property", "k", "v", "-D", "publish", "user-property", "k2", "v2",
         "-D", "publish", "message-expiry-interval", "60", "-D", "publish", "content-type", "text/plain",
         "-D", "connect", "session-expiry-interval", "30",
         "--will-topic", "e2e/will5", "--will-payload", "gone", "--will-retain"],
        ["-V", "mqttv5", "-q", "0", "-r", "-t", "e2e/c", "-m", "zero", "-i", "pub-5-qos0",
         "-D", "publish", "response-topic", "e2e/resp", "-D", "publish", "correlation-data", "abc"],
    ]
    for args in pubs:
        p = client(procs, "mosquitto_pub", *common, *args)
        assert p.wait(timeout=TIMEOUT) == 0, p.stderr.read()
    for s in subs:
        assert s.wait(timeout=TIMEOUT) == 0, s.stderr.read()
    pcap = stop(connections=len(subs) + len(pubs))

    decode_as = ["-d", f"tcp.port=={port},mqtt"]
    # Every TCP payload, per connection and direction, in capture order.
    segs = subprocess.run(["tshark", "-r", pcap, *decode_as, "-Y", "tcp.len>0", "-T", "fields",
                           "-e", "tcp.stream", "-e", "tcp.srcport", "-e", "tcp.payload"],
                          capture_output=True, timeout=TIMEOUT, check=True).stdout.decode()
    streams = {}
    for line in segs.splitlines():
        stream, srcport, payload = line.split("\t")
        key = (int(stream), "to_broker" if int(srcport) != port else "to_client")
        streams[key] = streams.get(key, b"") + bytes.fromhex(payload)
    # The dissector's packets, in the same order.
    frames = json.loads(subprocess.run(["tshark", "-r", pcap, *decode_as, "-Y", "mqtt", "-T", "json"],
                                       capture_output=True, timeout=TIMEOUT, check=True).stdout,
                        object_pairs_hook=Pairs)
    theirs = {}
    for frame in frames:
        layers = dict(frame)["_source"]
        layers = dict(layers)["layers"]
        tcp = flatten(dict(layers)["tcp"], [])
        key = (int(first(tcp, "tcp.stream")),
               "to_broker" if int(first(tcp, "tcp.srcport")) != port else "to_client")
        for pdu in mqtt_pdus(layers):
            theirs.setdefault(key, []).append(flatten(pdu, []))

    assert len(streams) >= 10  # 5 connections, both directions
    seen_kinds = set()
    versions = {}  # tcp stream -> --protocol, from the CONNECT the client sent
    per_direction = {}  # (tcp stream, direction) -> our packets, checked against tshark's
    # Sorted, so each connection's to_broker direction (with the CONNECT) comes first.
    for (stream, direction), data in sorted(streams.items()):
        if direction == "to_client":
            version = versions[stream]
            r = run(harness, "decode", "--protocol", version, "-", stdin=data)
        else:
            r = run(harness, "decode", "-", stdin=data)
        ours = lines(r.stdout)
        if r.returncode != 0:  # only a packet cut by the end of the capture is acceptable
            assert "truncated" in ours[-1].get("error", ""), ours[-1]
            ours = ours[:-1]
        if direction == "to_broker":
            assert ours[0]["type"] == "CONNECT"
            versions[stream] = "5" if ours[0]["protocol_version"] == 5 else "3.1.1"
        dissected = theirs.get((stream, direction), [])
        assert len(ours) == len(dissected), (stream, direction, ours, dissected)
        per_direction[(stream, direction)] = ours
        for i, (packet, fields) in enumerate(zip(ours, dissected)):
            kind = compare(packet, fields, f"stream {stream} {direction} packet {i}: {packet}")
            seen_kinds.add((kind, packet.get("qos"), "properties" in packet))
        # decode | encode reproduces what mosquitto and its clients sent.
        proto = ["--protocol", versions[stream]]
        text = "\n".join(json.dumps(p) for p in ours) + "\n"
        encoded = run(harness, "encode", *proto, "-", stdin=text.encode())
        assert encoded.returncode == 0, encoded.stderr
        consumed = sum(len(bytes.fromhex(h)) for h in encoded.stdout.decode().split())
        assert bytes.fromhex("".join(encoded.stdout.decode().split())) == data[:consumed]

    # decode --pcap reassembles the capture itself (the kernel's loopback frames, Ethernet
    # link type) and finds the same packets per connection and direction, each with its
    # connection numbered as tshark numbers tcp.stream.
    r = run(harness, "decode", "--pcap", pcap)
    assert r.returncode in (0, 1), r.stderr
    from_capture = {}
    for line in lines(r.stdout):
        key = (line.pop("stream"), "to_broker" if line.pop("from") == "client" else "to_client")
        assert line.pop("server").endswith(f":{port}")
        for annotation in ("client", "frame", "time"):  # a truncation found at the end has no frame
            line.pop(annotation, None)
        from_capture.setdefault(key, []).append(line)
    for key, ours in per_direction.items():
        got = from_capture.get(key, [])
        if got and "truncated" in got[-1].get("error", ""):  # as above: cut by the capture's end
            got = got[:-1]
        assert got == ours, (key, got, ours)
    assert set(from_capture) == set(per_direction)

    # The capture held what the test is about: QoS 0/1/2 PUBLISH in both versions, acks.
    kinds = {k for k, _, _ in seen_kinds}
    assert {"CONNECT", "CONNACK", "PUBLISH", "PUBACK", "PUBREC", "PUBREL", "PUBCOMP", "SUBSCRIBE",
            "SUBACK", "DISCONNECT"} <= kinds
    assert {q for k, q, _ in seen_kinds if k == "PUBLISH"} == {0, 1, 2}
    assert ("PUBLISH", 2, True) in seen_kinds


# --------------------------------------------------------------------------------------
# decode --pcap on a capture written here byte by byte (pcap format, raw IPv4 link type)


def pcap_file(path, frames):
    """frames: (src, sport, dst, dport, seq, flags, payload); IPv4 and TCP headers by hand
    (RFC 791/793), checksums left 0 (the reader does not check them)."""
    out = [struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 101)]  # LINKTYPE_RAW
    for i, (src, sport, dst, dport, seq, flags, payload) in enumerate(frames):
        tcp = struct.pack("!HHIIBBHHH", sport, dport, seq, 0, 5 << 4, flags, 65535, 0, 0)
        ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(tcp) + len(payload), i, 0, 64, 6, 0,
                         socket.inet_aton(src), socket.inet_aton(dst))
        frame = ip + tcp + payload
        out.append(struct.pack("<IIII", 1700000000, i, len(frame), len(frame)) + frame)
    path.write_bytes(b"".join(out))
    return path


SYN, ACK, PSH = 0x02, 0x10, 0x08


def test_decode_pcap_reassembles_out_of_order_and_repeated_segments_and_names_a_malformed_packet(harness, tmp_path):
    connect = bytes.fromhex("100d00044d5154540502003c000000")  # 5.0, no properties, empty client id
    connack = bytes.fromhex("20 03 00 00 00".replace(" ", ""))
    qos3_publish = bytes.fromhex("36 05 00 01 74 00 01".replace(" ", ""))  # QoS bits 11
    c, s = ("10.1.1.1", 50000), ("10.1.1.2", 1883)
    frames = [
        (*c, *s, 999, SYN, b""),
        (*c, *s, 1008, ACK | PSH, connect[8:]),   # the CONNECT's second half first
        (*c, *s, 1000, ACK | PSH, connect[:8]),
        (*c, *s, 1000, ACK | PSH, connect[:8]),   # and its first half twice
        (*s, *c, 5000, SYN | ACK, b""),
        (*s, *c, 5001, ACK | PSH, connack),
        (*c, *s, 1000 + len(connect), ACK | PSH, qos3_publish),
        ("10.1.1.1", 50001, "10.1.1.2", 80, 1, ACK | PSH, b"GET / HTTP/1.0\r\n\r\n"),  # not MQTT
    ]
    r = run(harness, "decode", "--pcap", pcap_file(tmp_path / "c.pcap", frames))
    assert r.returncode == 1, r.stderr
    out = lines(r.stdout)
    assert [(p["stream"], p["from"], p.get("type")) for p in out] == \
        [(0, "client", "CONNECT"), (0, "server", "CONNACK"), (0, "client", None)]
    assert out[0]["protocol_version"] == 5 and out[0]["frame"] == 3  # complete once the hole is filled
    assert out[0]["client"] == "10.1.1.1:50000" and out[0]["server"] == "10.1.1.2:1883"
    error = out[2]
    assert error["spec"] == "MQTT-3.3.1-4" and error["offset"] == len(connect), error
    assert "2 TCP connections, 1 MQTT, 2 packets decoded" in r.stderr.decode(), r.stderr


def test_decode_pcap_reports_bytes_the_capture_misses_and_port_decodes_a_connection_joined_midway(harness, tmp_path):
    pingreq = bytes.fromhex("c000")
    c, s = ("10.1.1.1", 50000), ("10.1.1.2", 1883)
    # No SYN, no CONNECT: the capture started inside the connection; segment 1002..1003 lost.
    frames = [(*c, *s, 1000, ACK | PSH, pingreq), (*c, *s, 1004, ACK | PSH, pingreq)]
    path = pcap_file(tmp_path / "mid.pcap", frames)
    quiet = run(harness, "decode", "--pcap", path)
    assert quiet.returncode == 0 and quiet.stdout == b"", quiet.stdout
    assert "--port N" in quiet.stderr.decode()
    r = run(harness, "decode", "--pcap", path, "--port", "1883")
    assert r.returncode == 1
    out = lines(r.stdout)
    assert out[0]["type"] == "PINGREQ" and out[0]["from"] == "client"
    assert out[1]["code"] == "capture_gap" and out[1]["offset"] == 2, out[1]
    assert "misses 2 bytes at offset 2" in out[1]["error"]
    bad = run(harness, "decode", "--pcap", tmp_path / "none.pcap")
    assert bad.returncode == 2 and b"none.pcap" in bad.stderr
