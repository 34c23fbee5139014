# Generates scenarios/malformed/*.yaml. The bytes of each malformed packet are built by
# mqtt_packets.py, an encoder independent of the codec. A packet the codec can describe
# (a decode-JSON packet, maybe with a send_packet override such as `flags`) is written as a
# readable send_packet step with mqtt_packets.py's bytes above it as `# <version> bytes`
# comments, which scenario_loader_tests checks the step encodes to; bytes no packet
# description can produce (ill-formed UTF-8, reserved option bits, a five-byte Remaining
# Length) stay send_raw hex.
# Run: cd harness/scenario/tools && /usr/bin/python3 gen_malformed.py
from mqtt_packets import *
import os
D=os.path.join(os.path.dirname(os.path.abspath(__file__)), '../../../scenarios/malformed/')
# close311: the 3.1.1 statement that itself tells the server to close (the step's `spec:`;
# without it a close that does not come is MQTT-4.8.0-1 / 4.13.1-1); quiet: the `spec:` of the
# watcher's check that nothing was forwarded.
def write(fname, name, spec311, spec5, hex311, hex5, watch=True, extra_steps='', versions='[3.1.1, 5]', packet=None,
          close311=None, quiet=None):
    name=name.replace(': ', ', '); lines=['# yaml-language-server: $schema=../schema.json', f'name: {name}', 'spec:']
    if spec311 is not None: lines.append(f'  "3.1.1": [{", ".join(spec311)}]')
    if spec5 is not None: lines.append(f'  "5": [{", ".join(spec5)}]')
    lines += [f'protocols: {versions}', 'timeout: 5s', 'clients:', '  c: {}'] + (['  watcher: {}'] if watch else []) + ['steps:']
    if watch:
        lines += ['  - connect: watcher', '  - subscribe: {client: watcher, filter: "#", qos: 1, expect: {reason_codes: [{at_most_qos: 1}]}}']
    lines += ['  - connect: c']
    if packet:
        if hex311: lines += [f'  # 3.1.1 bytes (mqtt_packets.py): {hex311}']
        if hex5: lines += [f'  # 5 bytes (mqtt_packets.py): {hex5}']
        lines += [f'  - send_packet: {{client: c, {packet}}}']
    else:
        if hex311: lines += [f'  - send_raw: {{client: c, hex: "{hex311}"}}', '    only: 3.1.1']
        if hex5: lines += [f'  - send_raw: {{client: c, hex: "{hex5}"}}', '    only: 5']
    if close311:
        lines += [f"  # 3.1.1 {close311} itself tells the server to close; in 5.0 the close is MQTT-4.13.1-1's.",
                  f'  - expect_disconnect: {{client: c, within: 2s, spec: {{"3.1.1": {close311}}}}}']
    else:
        lines += ['  - expect_disconnect: {client: c, within: 2s}']
    if watch:
        lines += ['  - expect_no_packet: {client: watcher, type: PUBLISH, for: 200ms' + (f', spec: {quiet}' if quiet else '') + '}']
    lines += [extra_steps] if extra_steps else []
    open(D+fname,'w').write('\n'.join(lines)+'\n')
P=lambda *a, **k: (hx(publish(*a, v=4, **k)), hx(publish(*a, v=5, **k)))
h=P('a/+','x'); write('publish_topic_with_plus_wildcard.yaml','A PUBLISH whose topic name holds + is refused: connection closed, nothing delivered',
  ['MQTT-3.3.2-2','MQTT-4.7.1-1','MQTT-4.8.0-1'],['MQTT-3.3.2-2','MQTT-4.7.0-1','MQTT-4.13.1-1'],*h,
  packet='packet: {type: PUBLISH, topic: "a/+", payload: x}', quiet='MQTT-3.3.2-2')
h=P('a/#','x'); write('publish_topic_with_hash_wildcard.yaml','A PUBLISH whose topic name holds # is refused: connection closed, nothing delivered',
  ['MQTT-3.3.2-2','MQTT-4.7.1-1'],['MQTT-3.3.2-2','MQTT-4.7.0-1'],*h,
  packet='packet: {type: PUBLISH, topic: "a/#", payload: x}', quiet='MQTT-3.3.2-2')
h=(hx(publish('pub/t','x',qos=1,pid=1,v=4,hdr=0x36)),hx(publish('pub/t','x',qos=1,pid=1,v=5,hdr=0x36)))
write('publish_qos3.yaml','A PUBLISH with both QoS bits set (QoS 3) is malformed: connection closed, nothing delivered',
  ['MQTT-3.3.1-4'],['MQTT-3.3.1-4','MQTT-4.13.1-1'],*h,
  packet='packet: {type: PUBLISH, qos: 3, topic: pub/t, packet_id: 1, payload: x}', quiet='MQTT-3.3.1-4')
h=P('','x'); write('publish_empty_topic.yaml','A PUBLISH with an empty topic name (and no topic alias) is refused',
  ['MQTT-4.7.3-1','MQTT-3.3.2-1'],['MQTT-4.7.3-1','MQTT-3.3.2-1'],*h,
  packet='packet: {type: PUBLISH, topic: "", payload: x}', quiet='MQTT-4.7.3-1')
h=P(b'a\x00b','x'); write('publish_topic_with_null_character.yaml','A PUBLISH topic containing U+0000 closes the connection',
  ['MQTT-1.5.3-2','MQTT-4.7.3-2'],['MQTT-1.5.4-2','MQTT-4.7.3-2'],*h,
  packet='packet: {type: PUBLISH, topic: "a\\0b", payload: x}', close311='MQTT-1.5.3-2', quiet='MQTT-4.7.3-2')
h=P(b'a\xffb','x'); write('publish_topic_invalid_utf8.yaml','A PUBLISH topic that is not well-formed UTF-8 (byte FF) closes the connection',
  ['MQTT-1.5.3-1'],['MQTT-1.5.4-1'],*h, close311='MQTT-1.5.3-1')
h=P(b'a\xed\xa0\x80b','x'); write('publish_topic_utf16_surrogate.yaml','A PUBLISH topic encoding the surrogate U+D800 closes the connection',
  ['MQTT-1.5.3-1'],['MQTT-1.5.4-1'],*h, close311='MQTT-1.5.3-1')
# remaining length over 4 bytes
write('remaining_length_too_long.yaml','A fixed header whose Remaining Length runs past four bytes is malformed and closes the connection',
  ['MQTT-4.8.0-1'],['MQTT-4.13.1-1','MQTT-1.5.5-1'],'30 ff ff ff ff 7f','30 ff ff ff ff 7f',
  quiet='{"3.1.1": MQTT-4.8.0-1, "5": MQTT-4.13.1-1}')
# PUBREL flags
write('pubrel_bad_flags.yaml','A PUBREL with fixed-header flags 0000 instead of 0010 is malformed and closes the connection',
  ['MQTT-3.6.1-1','MQTT-2.2.2-1','MQTT-2.2.2-2'],['MQTT-3.6.1-1','MQTT-2.1.3-1'],hx(pkt(0x60,(1).to_bytes(2,'big'))),hx(pkt(0x60,(1).to_bytes(2,'big'))), watch=False,
  packet='packet: {type: PUBREL, packet_id: 1}, flags: 0', close311='MQTT-3.6.1-1')
sub311=hx(pkt(0x80,(1).to_bytes(2,'big')+s('t')+b'\x01')); sub5=hx(pkt(0x80,(1).to_bytes(2,'big')+b'\x00'+s('t')+b'\x01'))
write('subscribe_bad_flags.yaml','A SUBSCRIBE with fixed-header flags 0000 is malformed: closed and no SUBACK',
  ['MQTT-3.8.1-1','MQTT-2.2.2-2'],['MQTT-3.8.1-1','MQTT-2.1.3-1'],sub311,sub5, watch=False,
  extra_steps='  - expect_no_packet: {client: c, type: SUBACK, for: 100ms, spec: MQTT-3.8.1-1}',
  packet='packet: {type: SUBSCRIBE, packet_id: 1, subscriptions: [{filter: t, qos: 1}]}, flags: 0')
uns311=hx(pkt(0xa0,(1).to_bytes(2,'big')+s('t'))); uns5=hx(pkt(0xa0,(1).to_bytes(2,'big')+b'\x00'+s('t')))
write('unsubscribe_bad_flags.yaml','An UNSUBSCRIBE with fixed-header flags 0000 is malformed: closed and no UNSUBACK',
  ['MQTT-3.10.1-1'],['MQTT-3.10.1-1'],uns311,uns5, watch=False,
  extra_steps='  - expect_no_packet: {client: c, type: UNSUBACK, for: 100ms}',
  packet='packet: {type: UNSUBSCRIBE, packet_id: 1, filters: [t]}, flags: 0')
write('disconnect_bad_flags.yaml','A DISCONNECT with a reserved flag bit set is malformed; the connection is closed',
  ['MQTT-3.14.1-1'],['MQTT-3.14.1-1'],hx(pkt(0xe1,b'')),hx(pkt(0xe1,b'')), watch=False,
  packet='packet: {type: DISCONNECT}, flags: 1')
write('auth_bad_flags.yaml','An AUTH with a reserved flag bit set is malformed; the connection is closed',
  None,['MQTT-3.15.1-1','MQTT-4.13.1-1'],None,hx(pkt(0xf1,b'')), watch=False, versions='[5]',
  packet='packet: {type: AUTH}, flags: 1')
# SUBSCRIBE requesting QoS 3
sq311=hx(pkt(0x82,(1).to_bytes(2,'big')+s('t')+b'\x03')); sq5=hx(pkt(0x82,(1).to_bytes(2,'big')+b'\x00'+s('t')+b'\x03'))
write('subscribe_qos3.yaml','A SUBSCRIBE requesting QoS 3 is malformed: closed and no SUBACK',
  ['MQTT-3.8.3-4'],['MQTT-3.8.3-5'],sq311,sq5, watch=False, extra_steps='  - expect_no_packet: {client: c, type: SUBACK, for: 100ms}',
  packet='packet: {type: SUBSCRIBE, packet_id: 1, subscriptions: [{filter: t, qos: 3}]}')
# reserved bits in options
sr311=hx(pkt(0x82,(1).to_bytes(2,'big')+s('t')+b'\x41')); sr5=hx(pkt(0x82,(1).to_bytes(2,'big')+b'\x00'+s('t')+b'\xc1'))
write('subscribe_reserved_option_bits.yaml','A SUBSCRIBE whose options byte has reserved bits set is malformed: closed and no SUBACK',
  ['MQTT-3.8.3-4'],['MQTT-3.8.3-5'],sr311,sr5, watch=False, extra_steps='  - expect_no_packet: {client: c, type: SUBACK, for: 100ms}',
  close311='MQTT-3.8.3-4')
# SUBSCRIBE with packet id 0
s0_311=hx(pkt(0x82,(0).to_bytes(2,'big')+s('t')+b'\x01'))
write('subscribe_packet_id_zero.yaml','A SUBSCRIBE with Packet Identifier 0 is a protocol violation and closes the connection',
  ['MQTT-2.3.1-1','MQTT-4.8.0-1'],None,s0_311,None, watch=False, versions='[3.1.1]',
  packet='packet: {type: SUBSCRIBE, packet_id: 0, subscriptions: [{filter: t, qos: 1}]}')
# filter with NUL
sn311=hx(pkt(0x82,(1).to_bytes(2,'big')+s(b'a\x00')+b'\x01')); sn5=hx(pkt(0x82,(1).to_bytes(2,'big')+b'\x00'+s(b'a\x00')+b'\x01'))
write('subscribe_filter_with_null_character.yaml','A SUBSCRIBE topic filter containing U+0000 closes the connection',
  ['MQTT-1.5.3-2','MQTT-4.7.3-2'],['MQTT-1.5.4-2','MQTT-4.7.3-2'],sn311,sn5, watch=False,
  packet='packet: {type: SUBSCRIBE, packet_id: 1, subscriptions: [{filter: "a\\0", qos: 1}]}', close311='MQTT-1.5.3-2')
# empty filter
se311=hx(pkt(0x82,(1).to_bytes(2,'big')+s(b'')+b'\x01')); se5=hx(pkt(0x82,(1).to_bytes(2,'big')+b'\x00'+s(b'')+b'\x01'))
write('subscribe_empty_filter.yaml','A SUBSCRIBE with an empty topic filter is refused (connection closed)',
  ['MQTT-4.7.3-1'],['MQTT-4.7.3-1'],se311,se5, watch=False,
  packet='packet: {type: SUBSCRIBE, packet_id: 1, subscriptions: [{filter: "", qos: 1}]}')
# user property with invalid utf-8 name (5)
up = b'\x26' + s(b'k\xff') + s(b'v')
write('user_property_invalid_utf8.yaml','A PUBLISH user property whose name is not UTF-8 closes the connection and is not forwarded',
  None,['MQTT-1.5.7-1','MQTT-1.5.4-1'],None,hx(publish('pub/t','x',v=5,props=up)), versions='[5]', quiet='MQTT-1.5.7-1')
# non-minimal varint property length? Remaining length 0x80 0x00 is non-minimal; allowed to reject
