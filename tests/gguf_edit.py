#!/usr/bin/env python3
"""gguf_edit.py — write a changed copy of a GGUF v3 file, for the loader's refusal tests
(tests/test_gguf_refuse.sh). Standard library only; the reader is independent of src/base/gguf.c.

usage: gguf_edit.py IN OUT EDIT...   with EDITs
  rename OLD NEW        rename a tensor
  drop NAME             remove a tensor (its bytes stay in the data section, unreferenced)
  set KEY TYPE VALUE    set or add a key: TYPE u32 | i32 | u64 | str
  tokens N              keep the first N entries of the tokenizer.ggml.* arrays of the vocab size
  nan NAME INDEX        an F32 tensor's element INDEX becomes NaN
"""
import math
import struct
import sys

SCALAR = {0: "<B", 1: "<b", 2: "<H", 3: "<h", 4: "<I", 5: "<i", 6: "<f", 7: "<?", 10: "<Q", 11: "<q", 12: "<d"}
TYPE_OF = {"u32": 4, "i32": 5, "u64": 10, "str": 8}
ARITY = {"rename": 2, "drop": 1, "set": 3, "tokens": 1, "nan": 2}


class Reader:
    def __init__(self, b):
        self.b, self.o = b, 0

    def take(self, fmt):
        v = struct.unpack_from(fmt, self.b, self.o)[0]
        self.o += struct.calcsize(fmt)
        return v

    def string(self):
        n = self.take("<Q")
        s = self.b[self.o:self.o + n]
        self.o += n
        return bytes(s)

    def value(self, t):
        if t == 8:
            return self.string()
        if t == 9:
            et, n = self.take("<I"), self.take("<Q")
            return (et, [self.value(et) for _ in range(n)])
        return self.take(SCALAR[t])


def put_value(out, t, v):
    if t == 8:
        out += struct.pack("<Q", len(v)) + v
    elif t == 9:
        et, items = v
        out += struct.pack("<IQ", et, len(items))
        for x in items:
            put_value(out, et, x)
    else:
        out += struct.pack(SCALAR[t], v)


def main(argv):
    src, dst, edits = argv[1], argv[2], argv[3:]
    b = open(src, "rb").read()
    r = Reader(b)
    assert r.take("<I") == 0x46554747, "not a GGUF file"
    version = r.take("<I")
    n_t, n_kv = r.take("<Q"), r.take("<Q")
    kvs = []
    for _ in range(n_kv):
        k = r.string()
        t = r.take("<I")
        kvs.append([k, t, r.value(t)])
    tensors = []
    for _ in range(n_t):
        name = r.string()
        nd = r.take("<I")
        ne = [r.take("<Q") for _ in range(nd)]
        tensors.append([name, ne, r.take("<I"), r.take("<Q")])
    align = next((v for k, t, v in kvs if k == b"general.alignment"), 32)
    data_start = (r.o + align - 1) // align * align
    data = bytearray(b[data_start:])

    i = 0
    while i < len(edits):
        op = edits[i]
        if op not in ARITY:
            sys.exit(f"gguf_edit.py: unknown edit '{op}'")
        a = edits[i + 1:i + 1 + ARITY[op]]
        i += 1 + ARITY[op]
        if op == "rename":
            next(t for t in tensors if t[0] == a[0].encode())[0] = a[1].encode()
        elif op == "drop":
            tensors = [t for t in tensors if t[0] != a[0].encode()]
        elif op == "set":
            typ = TYPE_OF[a[1]]
            kvs = [kv for kv in kvs if kv[0] != a[0].encode()] + [[a[0].encode(), typ, a[2].encode() if typ == 8 else int(a[2])]]
        elif op == "tokens":
            size = len(next(v for k, t, v in kvs if k == b"tokenizer.ggml.tokens")[1])
            for kv in kvs:
                if kv[1] == 9 and kv[0].startswith(b"tokenizer.ggml.") and len(kv[2][1]) == size:
                    kv[2] = (kv[2][0], kv[2][1][:int(a[0])])
        elif op == "nan":
            t = next(t for t in tensors if t[0] == a[0].encode())
            assert t[2] == 0, "nan: only F32 tensors"
            struct.pack_into("<f", data, t[3] + 4 * int(a[1]), math.nan)

    out = bytearray(struct.pack("<IIQQ", 0x46554747, version, len(tensors), len(kvs)))
    for k, t, v in kvs:
        out += struct.pack("<Q", len(k)) + k + struct.pack("<I", t)
        put_value(out, t, v)
    for name, ne, typ, off in tensors:
        out += struct.pack("<Q", len(name)) + name + struct.pack("<I", len(ne))
        out += b"".join(struct.pack("<Q", x) for x in ne) + struct.pack("<IQ", typ, off)
    out += b"\0" * ((-len(out)) % align)
    open(dst, "wb").write(out + data)


if __name__ == "__main__":
    main(sys.argv)
