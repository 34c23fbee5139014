#!/usr/bin/env node
// Parses the same byte streams as codec/bench/codec_bench.cpp with node's mqtt-packet
// (the parser of MQTT.js), so codec-vs-mqtt-packet.sh can print ratios. The packets are
// built byte by byte here exactly as small_publish()/big_publish() build them in C++.
//
// Prints one JSON object per benchmark: {"name", "items_per_second", "bytes_per_second"}
// with the codec_bench benchmark name it compares to. Usage: node bench.js [--seconds S]
'use strict';
const mqtt = require('mqtt-packet');

const seconds = (() => {
  const i = process.argv.indexOf('--seconds');
  return i > 0 ? Number(process.argv[i + 1]) : 1.0;
})();

const TOPIC = 'sensors/room1/temp';

function varint(n) {
  const out = [];
  do {
    let b = n % 128;
    n = Math.floor(n / 128);
    if (n) b |= 0x80;
    out.push(b);
  } while (n);
  return Buffer.from(out);
}
function u16(n) { return Buffer.from([n >> 8, n & 0xff]); }
function str(s) { const b = Buffer.from(s, 'utf8'); return Buffer.concat([u16(b.length), b]); }

// QoS 1 PUBLISH: topic, packet id, [5.0: message_expiry_interval 60 + content_type
// "text/plain"], 16-byte payload "abcdefghijklmnop".
function smallPublish(packetId, v5) {
  const parts = [str(TOPIC), u16(packetId)];
  if (v5) {
    const props = Buffer.concat([Buffer.from([0x02, 0, 0, 0, 0x3c]), Buffer.from([0x03]), str('text/plain')]);
    parts.push(varint(props.length), props);
  }
  parts.push(Buffer.from('abcdefghijklmnop'));
  const body = Buffer.concat(parts);
  return Buffer.concat([Buffer.from([0x32]), varint(body.length), body]);
}
function smallStream(v5, count) {
  const packets = [];
  for (let i = 0; i < count; i++) packets.push(smallPublish((i % 65535) + 1, v5));
  return Buffer.concat(packets);
}
// 64 KiB QoS 1 PUBLISH, MQTT 5, no properties (as codec_bench's big_publish()).
function bigPublish() {
  const body = Buffer.concat([str(TOPIC), u16(7), Buffer.from([0]), Buffer.alloc(64 * 1024, 'x')]);
  return Buffer.concat([Buffer.from([0x32]), varint(body.length), body]);
}

// Parses `chunks` over and over until `seconds` of CPU time are used; prints the rates.
function measure(name, compareTo, protocolVersion, chunks, packetsPerRun) {
  const bytesPerRun = chunks.reduce((n, c) => n + c.length, 0);
  const parser = mqtt.parser({ protocolVersion });
  let seen = 0;
  parser.on('packet', () => { seen++; });
  parser.on('error', (e) => { throw e; });
  const run = () => { for (const c of chunks) parser.parse(c); };
  // Warm up the JIT, then check the parser sees every packet.
  for (let i = 0; i < 20; i++) run();
  if (seen !== 20 * packetsPerRun) throw new Error(`${name}: parsed ${seen} packets, expected ${20 * packetsPerRun}`);
  // Rates use CPU time, as Google Benchmark's do, so a busy machine skews both alike
  // (process CPU time: it includes V8's GC helper threads, which is part of node's cost).
  let runs = 0;
  const cpu0 = process.cpuUsage();
  let cpu = 0;
  while (cpu < seconds) {
    for (let i = 0; i < 10; i++) run();
    runs += 10;
    const used = process.cpuUsage(cpu0);
    cpu = (used.user + used.system) / 1e6;
  }
  const result = {
    name, compare_to: compareTo,
    items_per_second: (runs * packetsPerRun) / cpu,
    bytes_per_second: (runs * bytesPerRun) / cpu,
  };
  console.log(JSON.stringify(result));
}

const SMALL = 1024;
measure('mqtt-packet/parse_small_publish_v311', 'BM_DecodeSmallPublish_v311', 4, [smallStream(false, SMALL)], SMALL);
measure('mqtt-packet/parse_small_publish_v5_2props', 'BM_DecodeSmallPublish_v5_2props', 5, [smallStream(true, SMALL)], SMALL);
measure('mqtt-packet/parse_publish_64KiB', 'BM_DecodePublish64KiB', 5, [bigPublish()], 1);
{
  const count = Math.floor((1 << 20) / smallPublish(1, false).length) + 1;
  const stream = smallStream(false, count);
  const chunks = [];
  for (let at = 0; at < stream.length; at += 1460) chunks.push(stream.subarray(at, Math.min(at + 1460, stream.length)));
  measure('mqtt-packet/parse_1MiB_1460B_chunks', 'BM_FramerAndDecode1MiB_1460B_chunks', 4, chunks, count);
}
