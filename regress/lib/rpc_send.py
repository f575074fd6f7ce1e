# rpc_send.py [HOST:]PORT TYPE JSON: speak the server RPC wire
# (raftd/rpc_codec.h) to HOST (127.0.0.1) on PORT as a peer would:
# HELLO, then one FWD frame of imsg TYPE whose payload is JSON turned
# into MessagePack (strings as str, non-negative integers as uint).
# Prints the payload of the first REPLY as JSON (bin as hex), or
# "closed" when the server drops the connection.
#
# rpc_send.py -c HEADER NAME...: the values of C constants (enumerators
# or #defines of a number) in HEADER, one a line, so that the tests
# never hard-code a message type.
import json, re, socket, struct, sys

def constants(path, names):
    text = re.sub(r'/\*.*?\*/|//[^\n]*', ' ', open(path).read(), flags=re.S)
    vals = {}
    for m in re.finditer(r'^#define\s+(\w+)\s+(\d+)\s*$', text, re.M):
        vals[m.group(1)] = int(m.group(2))
    for body in re.findall(r'\benum\s+\w*\s*\{(.*?)\}', text, re.S):
        n = 0
        for item in body.split(','):
            m = re.match(r'\s*(\w+)\s*(?:=\s*(\d+))?\s*$', item)
            if m is None:
                continue
            if m.group(2) is not None:
                n = int(m.group(2))
            vals[m.group(1)] = n
            n += 1
    for name in names:
        print(vals[name])

if sys.argv[1] == '-c':
    constants(sys.argv[2], sys.argv[3:])
    sys.exit(0)

def enc(o):
    if o is None:
        return b'\xc0'
    if o is True:
        return b'\xc3'
    if o is False:
        return b'\xc2'
    if isinstance(o, int):
        if 0 <= o < 128:
            return bytes([o])
        if 0 <= o < 2 ** 32:
            return b'\xce' + struct.pack('>I', o)
        return b'\xcf' + struct.pack('>Q', o)
    if isinstance(o, float):
        return b'\xcb' + struct.pack('>d', o)
    if isinstance(o, bytes):
        return b'\xc6' + struct.pack('>I', len(o)) + o
    if isinstance(o, str):
        b = o.encode()
        return b'\xdb' + struct.pack('>I', len(b)) + b
    if isinstance(o, list):
        return b'\xdd' + struct.pack('>I', len(o)) + \
            b''.join(enc(x) for x in o)
    if isinstance(o, dict):
        return b'\xdf' + struct.pack('>I', len(o)) + \
            b''.join(enc(k) + enc(v) for k, v in o.items())
    raise ValueError(o)

def dec(b, i=0):
    t = b[i]
    i += 1
    if t < 0x80:
        return t, i
    if t >= 0xe0:
        return t - 256, i
    if 0x80 <= t <= 0x8f:
        return dmap(b, i, t & 15)
    if 0x90 <= t <= 0x9f:
        return darr(b, i, t & 15)
    if 0xa0 <= t <= 0xbf:
        n = t & 31
        return b[i:i + n].decode(), i + n
    fixed = {0xcc: '>B', 0xcd: '>H', 0xce: '>I', 0xcf: '>Q', 0xd0: '>b',
        0xd1: '>h', 0xd2: '>i', 0xd3: '>q', 0xca: '>f', 0xcb: '>d'}
    if t in fixed:
        f = fixed[t]
        n = struct.calcsize(f)
        return struct.unpack(f, b[i:i + n])[0], i + n
    if t == 0xc0:
        return None, i
    if t in (0xc2, 0xc3):
        return t == 0xc3, i
    lens = {0xd9: '>B', 0xda: '>H', 0xdb: '>I', 0xc4: '>B', 0xc5: '>H',
        0xc6: '>I', 0xdc: '>H', 0xdd: '>I', 0xde: '>H', 0xdf: '>I'}
    f = lens[t]
    n = struct.unpack(f, b[i:i + struct.calcsize(f)])[0]
    i += struct.calcsize(f)
    if t in (0xdc, 0xdd):
        return darr(b, i, n)
    if t in (0xde, 0xdf):
        return dmap(b, i, n)
    s = b[i:i + n]
    return (s.decode() if t >= 0xd9 else s), i + n

def darr(b, i, n):
    r = []
    for _ in range(n):
        v, i = dec(b, i)
        r.append(v)
    return r, i

def dmap(b, i, n):
    r = {}
    for _ in range(n):
        k, i = dec(b, i)
        v, i = dec(b, i)
        r[k] = v
    return r, i

def send(s, o):
    m = enc(o)
    s.sendall(struct.pack('>I', len(m)) + m)

def recv(s, n):
    b = b''
    while len(b) < n:
        c = s.recv(n - len(b))
        if not c:
            return None
        b += c
    return b

host, _, port = sys.argv[1].rpartition(':')
itype, payload = int(sys.argv[2]), json.loads(sys.argv[3])
s = socket.create_connection((host or '127.0.0.1', int(port)), timeout=10)
send(s, [1, 1, 'dc1', 'sectest-peer'])
send(s, [3, 7, itype, enc(payload)])
while True:
    h = recv(s, 4)
    if h is None:
        print('closed')
        break
    f, _ = dec(recv(s, struct.unpack('>I', h)[0]))
    if f[0] == 4 and f[1] == 7:
        v, _ = dec(f[3])
        print(json.dumps(v, default=lambda x: x.hex()))
        break
