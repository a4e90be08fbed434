# gguf_read.py — a minimal GGUF reader in plain Python, for the independent checks of the files the
# engine writes (SWIFT head files): tests/test_swift_cli.sh and scripts/swift_probe.py.
#   kv, tensors, data = gguf_read(path)
#   kv: {key: value}; tensors: {name: (dims, type, absolute byte offset in data)}; data: the file bytes
import struct

_SCALAR = {0: "B", 1: "b", 2: "H", 3: "h", 4: "I", 5: "i", 6: "f", 7: "?", 10: "Q", 11: "q", 12: "d"}


def gguf_read(path):
    b = open(path, "rb").read()
    pos = 4

    def rd(fmt):
        nonlocal pos
        v = struct.unpack_from("<" + fmt, b, pos)[0]
        pos += struct.calcsize("<" + fmt)
        return v

    def rstr():
        nonlocal pos
        n = rd("Q")
        s = b[pos:pos + n].decode()
        pos += n
        return s

    def rval(t):
        if t == 8:
            return rstr()
        if t == 9:
            et = rd("I")
            return [rval(et) for _ in range(rd("Q"))]
        return rd(_SCALAR[t])

    assert b[:4] == b"GGUF", path + ": not a GGUF file"
    rd("I")                      # version
    nt, nkv = rd("Q"), rd("Q")
    kv = {}
    for _ in range(nkv):
        k = rstr()
        kv[k] = rval(rd("I"))
    info = []
    for _ in range(nt):
        name = rstr()
        dims = [rd("Q") for _ in range(rd("I"))]
        ty, off = rd("I"), rd("Q")
        info.append((name, dims, ty, off))
    align = kv.get("general.alignment", 32)
    base = (pos + align - 1) // align * align
    return kv, {n: (d, t, base + o) for n, d, t, o in info}, b
