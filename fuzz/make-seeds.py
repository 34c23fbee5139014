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
    scenario_files = 0
    for path in sorted((ROOT / "scenarios").rglob("*.yaml")):
        data = path.read_bytes()
        if len(data) <= 64 * 1024:
            write("scenario_loader", data)
            scenario_files += 1
    print(f"seeded from {count} vectors and {scenario_files} scenario files")


if __name__ == "__main__":
    main()
