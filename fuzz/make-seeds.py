#!/usr/bin/python3
"""Builds the seed corpora from the codec's golden vectors (codec/tests/vectors/*.txt).

  /usr/bin/python3 fuzz/make-seeds.py

Writes fuzz/corpus/<target>/<sha1> files; existing files are kept, so it only adds.
- decode_v311, decode_v5: each vector's bytes, into the target of its version.
- roundtrip: a version byte (bit 0: 1 = 5.0) followed by the vector's bytes.
- framer: all vectors of one version concatenated (a realistic stream), plus each vector
  alone; FuzzedDataProvider takes its integers from the end, so 8 trailing bytes choose the
  maximum packet size and the chunking.
- scenario_loader: every scenario file under scenarios/ (up to the target's 64 KiB cap).
- hand-built packets for rules no golden vector reaches (spec_cases() below: shared
  subscriptions, Payload Format Indicator, malformed remaining lengths ...), into the
  decode target of their version and roundtrip; each names the statement it exercises.
- framer: a stream longer than the framer's 4 KiB compaction threshold (Framer::feed).
- broker_engine, client_session: their inputs are FuzzedDataProvider event scripts, not
  packets, so their committed corpora were grown by the fuzzers themselves and minimised
  with -merge=1 (docs/fuzzing.md "Seeds"); nothing is generated here for them.
"""
import hashlib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
VECTORS = ROOT / "codec/tests/vectors"
CORPUS = ROOT / "fuzz/corpus"


def read_vectors():
    for path in sorted(VECTORS.glob("*.txt")):
        record = {}
        for line in path.read_text().splitlines() + [""]:
            if not line.strip():
                if "hex" in record:
                    yield record
                record = {}
                continue
            if line.startswith("#") or ":" not in line:
                continue
            key, value = line.split(":", 1)
            record.setdefault(key.strip(), value.strip())


def write(target, data):
    folder = CORPUS / target
    folder.mkdir(parents=True, exist_ok=True)
    (folder / hashlib.sha1(data).hexdigest()).write_bytes(data)


def u16(n):
    return bytes([n >> 8, n & 0xFF])


def utf8(text):
    data = text.encode() if isinstance(text, str) else text
    return u16(len(data)) + data


def varint(n):
    out = b""
    while True:
        byte, n = n & 0x7F, n >> 7
        out += bytes([byte | (0x80 if n else 0)])
        if not n:
            return out


def packet(first, body):
    return bytes([first]) + varint(len(body)) + body


def subscribe_v5(*filters):
    body = u16(1) + b"\x00" + b"".join(utf8(f) + b"\x01" for f in filters)
    return packet(0x82, body)


def publish_v5(topic, props, payload):
    return packet(0x30, utf8(topic) + varint(len(props)) + props + payload)


def spec_cases():
    """(version, bytes) of packets for rules the golden vectors do not reach."""
    return [
        # Shared subscriptions, MQTT 5.0 4.8.2: empty ShareName [MQTT-4.8.2-1], wildcard in
        # the ShareName and no Topic Filter after it [MQTT-4.8.2-2], and a valid one.
        ("5", subscribe_v5("$share//t")),
        ("5", subscribe_v5("$share/g+/t")),
        ("5", subscribe_v5("$share/g#/t")),
        ("5", subscribe_v5("$share/g")),
        ("5", subscribe_v5("$share/g/")),
        ("5", subscribe_v5("$share/g/t/#", "$share/h/+/x")),
        # 3.1.1 has no shared subscriptions: the same filter is a plain one there.
        ("3.1.1", packet(0x82, u16(1) + utf8("$share/g/t") + b"\x00")),
        # Payload Format Indicator 1 [MQTT-3.3.2-4]: UTF-8 payload, and one that is not.
        ("5", publish_v5("t", b"\x01\x01", "h\u00e9llo".encode())),
        ("5", publish_v5("t", b"\x01\x01", b"\xff\xfe")),
        ("5", publish_v5("t", b"\x01\x01", b"ok\xed\xa0\x80")),  # a surrogate
        # Ill-formed UTF-8 and U+0000 in a topic [MQTT-1.5.4-1], [MQTT-1.5.4-2], [MQTT-4.7.3-2].
        ("5", publish_v5("a\x00b", b"", b"")),
        ("5", publish_v5(b"a\xc0\xafb", b"", b"")),
        ("3.1.1", packet(0x30, utf8(b"a\xf4\x90\x80\x80") + b"x")),
        # Remaining length of five bytes / non-terminated (2.2.3, 1.5.5) in both versions.
        ("3.1.1", b"\x30\xff\xff\xff\xff\x7f"),
        ("5", b"\x30\xff\xff\xff\xff\x7f"),
        ("3.1.1", b"\xc0\x80\x80"),
        # Reason codes a packet type does not define (5.0 2.4, per-packet tables).
        ("5", packet(0x40, u16(1) + b"\x04\x00")),
        ("5", packet(0xE0, b"\x05\x00")),
        ("5", packet(0xF0, b"\x01\x00")),
        ("5", packet(0x90, u16(1) + b"\x00\x01\x02\x80\x83\x87\x8f\x91\x97\x9e\xa1\xa2")),
        ("5", packet(0xB0, u16(1) + b"\x00\x00\x11\x80\x83\x87\x8f\x91")),
        ("5", packet(0x20, b"\x00\x9d\x00")),
        ("5", packet(0xE0, b"\xa2\x00")),
        ("3.1.1", packet(0x20, b"\x00\x05")),
        ("3.1.1", packet(0x20, b"\x00\x06")),
        ("3.1.1", packet(0x90, u16(1) + b"\x00\x01\x02\x80")),
    ] + [
        # Every CONNACK reason code of 5.0 3.2.2.2, every 3.1.1 return code (3.2.2.3), and
        # the AUTH / DISCONNECT codes (3.15.2.1, 3.14.2.1): each defined value once.
        ("5", packet(0x20, b"\x00" + bytes([code]) + b"\x00"))
        for code in (0x80, 0x81, 0x82, 0x83, 0x84, 0x85, 0x86, 0x87, 0x88, 0x89, 0x8A, 0x8C,
                     0x90, 0x95, 0x97, 0x99, 0x9A, 0x9B, 0x9C, 0x9D, 0x9F)
    ] + [
        ("3.1.1", packet(0x20, b"\x00" + bytes([code]))) for code in range(0, 6)
    ] + [
        ("5", packet(0xF0, bytes([code]) + b"\x00")) for code in (0x00, 0x18, 0x19)
    ] + [
        ("5", packet(0xE0, bytes([code]) + b"\x00")) for code in (0x8D, 0x8E, 0x93, 0x96, 0x98, 0xA0)
    ]


def main():
    streams = {"3.1.1": b"", "5": b""}
    count = 0
    for v in read_vectors():
        data = bytes.fromhex(v["hex"].replace(" ", ""))
        version = "5" if v.get("version", "").startswith("5") else "3.1.1"
        write("decode_v5" if version == "5" else "decode_v311", data)
        write("roundtrip", bytes([1 if version == "5" else 0]) + data)
        write("framer", data + b"\x00\x10\x00\x00\x2a\x00\x00\x00")
        streams[version] += data
        count += 1
    for version, stream in streams.items():
        write("framer", stream + b"\x00\x10\x00\x00\x07\x00\x00\x00")
    for version, data in spec_cases():
        write("decode_v5" if version == "5" else "decode_v311", data)
        write("roundtrip", bytes([1 if version == "5" else 0]) + data)
        count += 1
    # FuzzedDataProvider reads the framer's integers from the end, last byte first: the
    # maximum packet size (2 bytes, 2 + value % 4095) then the chunking seed (4 bytes).
    # The trailer above leaves a maximum of 2 bytes (every larger frame is too large);
    # this one allows 4096.
    big_max = b"\x2a\x00\x00\x00" + b"\xfe\x0f"
    for v in read_vectors():
        write("framer", bytes.fromhex(v["hex"].replace(" ", "")) + big_max)
    for version, stream in streams.items():
        write("framer", stream + big_max)
    # Seven 1000-byte PUBLISHes: chunk boundaries rarely fall between packets, so a partial
    # packet stays behind a consumed prefix above 4 KiB, which Framer::feed compacts.
    publish_1000 = b"\x30\xe5\x07" + utf8("t") + b"x" * 994
    write("framer", publish_1000 * 7 + b"\x30" + big_max)
    scenario_files = 0
    for path in sorted((ROOT / "scenarios").rglob("*.yaml")):
        data = path.read_bytes()
        if len(data) <= 64 * 1024:
            write("scenario_loader", data)
            scenario_files += 1
    print(f"seeded from {count} vectors and spec cases and {scenario_files} scenario files")


if __name__ == "__main__":
    main()
