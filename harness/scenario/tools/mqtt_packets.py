# Minimal raw MQTT packet builder (independent of the codec) used to write send_raw hex.
# Valid and deliberately invalid packets; see gen_malformed.py.
# tiny raw MQTT packet builder for scenario hex
import sys
def vbi(n):
    out=b''
    while True:
        d=n%128; n//=128
        if n: d|=0x80
        out+=bytes([d])
        if not n: return out
def s(x): 
    if isinstance(x,str): x=x.encode()
    return len(x).to_bytes(2,'big')+x
def pkt(h, body): return bytes([h])+vbi(len(body))+body
def hx(b): return ' '.join(f'{c:02x}' for c in b)
def connect(cid, v=4, flags=0x02, ka=0, name='MQTT', props=b'', extra=b''):
    body=s(name)+bytes([v,flags])+ka.to_bytes(2,'big')
    if v==5: body+=vbi(len(props))+props
    body+=s(cid)+extra
    return pkt(0x10, body)
def publish(topic, payload=b'', qos=0, pid=None, dup=0, retain=0, v=4, props=b'', hdr=None):
    h = hdr if hdr is not None else 0x30|(dup<<3)|(qos<<1)|retain
    body=s(topic)
    if qos: body+=pid.to_bytes(2,'big')
    if v==5: body+=vbi(len(props))+props
    return pkt(h, body+(payload.encode() if isinstance(payload,str) else payload))
