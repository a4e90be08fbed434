#!/usr/bin/env bash
# test_swift_cli.sh — `slotswift swift-train`: a feature store written independently (python3,
# following the format in src/ss_featstore.h) is trained on; the head file is then parsed by an
# independent GGUF reader (python3) that recomputes every candidate's reward from the stored
# weights. Also the error paths: missing flags, bad values, missing / empty / corrupt stores.
set -u
BIN=${SS_BIN:-build/slotswift}
T=$(mktemp -d /tmp/test_swift_cli.XXXXXX)
trap 'rm -rf "$T"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

# expect CODE CMD...: exit code CODE and, for errors, exactly one line on stderr
expect() {
  local want=$1; shift
  "$@" >"$T/out" 2>"$T/err"; local rc=$?
  [ $rc -eq "$want" ] || { cat "$T/err"; fail "'$*' exited $rc, want $want"; }
  if [ "$want" -ne 0 ]; then
    [ "$(wc -l <"$T/err")" -eq 1 ] || { cat "$T/err"; fail "'$*': error is not one line"; }
  fi
}

# ---- a store: 40 questions x 4 candidates, dim 8 (last1 of a 2-layer model with n_embd 8)
python3 - "$T/store" <<'EOF'
import json, os, random, struct, sys
d = sys.argv[1]; dtype = "f32"
os.makedirs(d)
random.seed(5)
dim = 8
u = [random.gauss(0, 1) for _ in range(dim)]
meta = {"format": "slotswift-swift-features", "version": 1, "model_name": "toy",
        "model_fingerprint": "00000000deadbeef", "layers": "last1", "layer_list": [2],
        "norm": False, "logits": False, "dim": dim, "dtype": dtype, "row_align": 64,
        "collect": {"n": 4}}
json.dump(meta, open(os.path.join(d, "meta.json"), "w"))
data = bytearray()
with open(os.path.join(d, "index.jsonl"), "w") as idx:
    for q in range(40):
        for c in range(4):
            label = (q + c) % 2
            T = random.randint(3, 10)
            off = (len(data) + 63) // 64 * 64
            data.extend(b"\0" * (off - len(data)))
            for t in range(T):
                for i in range(dim):
                    data.extend(struct.pack("<f", random.gauss(0, 1) + (0.8 if label else -0.8) * u[i]))
            idx.write(json.dumps({"q": q, "c": c, "n_cand": 4, "label": label, "n_tokens": T, "offset": off,
                                  "answer": str(label), "reference": "1", "text": "t"}) + "\n")
open(os.path.join(d, "features.bin"), "wb").write(data)
EOF
[ -f "$T/store/meta.json" ] || fail "could not build the test store"

# ---- training
expect 0 "$BIN" swift-train --in "$T/store" --out "$T/head.gguf" --lr 0.05 --epochs 30 --seed 1
grep -q "^swift-train: wrote $T/head.gguf" "$T/out" || { cat "$T/out"; fail "no summary line"; }
grep -q "^epoch 1/30" "$T/err" || { cat "$T/err"; fail "no per-epoch lines on stderr"; }
[ -f "$T/head.gguf" ] || fail "no head file"
ls "$T" | grep -q "head.gguf.tmp" && fail "temporary file left behind"

# ---- independent check of the head file: parse the GGUF, recompute R for every candidate
python3 - "$T/head.gguf" "$T/store" <<'EOF' || fail "head file check"
import json, math, struct, sys
sys.path.insert(0, "scripts")
from gguf_read import gguf_read
path, store = sys.argv[1], sys.argv[2]
kv, tensors, b = gguf_read(path)
assert kv["general.architecture"] == "swift-head"
assert kv["swift.model_name"] == "toy"
assert kv["swift.model_fingerprint"] == 0xdeadbeef
assert kv["swift.layers"] == "last1" and kv["swift.layer_list"] == [2]
assert kv["swift.dim"] == 8 and kv["swift.norm"] is False and kv["swift.no_gate"] is False
info = json.loads(kv["swift.train_info"]); vm = json.loads(kv["swift.val_metrics"])
assert info["loss"] == "bce" and info["data"] == store and info["n_examples"] == 160, info
assert 1 <= info["best_epoch"] <= info["epochs_run"] <= 30
neW, tyW, offW = tensors["swift.W"]; neb, tyb, offb = tensors["swift.b"]
assert neW == [8, 2] and tyW == 0 and neb == [2] and tyb == 0
W = struct.unpack_from("<16f", b, offW); bias = struct.unpack_from("<2f", b, offb)
feats = open(store + "/features.bin", "rb").read()
ok = n = 0
for line in open(store + "/index.jsonl"):
    e = json.loads(line)
    num = den = 0.0
    for t in range(e["n_tokens"]):
        x = struct.unpack_from("<8f", feats, e["offset"] + t * 32)
        g = bias[0] + sum(W[i] * x[i] for i in range(8)); r = bias[1] + sum(W[8 + i] * x[i] for i in range(8))
        s = 1 / (1 + math.exp(-g)); num += s * r; den += s
    R = num / max(den, 1e-8)
    ok += (R > 0) == (e["label"] == 1); n += 1
print("python reward check: %d/%d correct, val acc %s" % (ok, n, vm["val_acc"]))
assert ok >= 0.95 * n, (ok, n)
EOF

# pairwise, no gate, no validation
expect 0 "$BIN" swift-train --in "$T/store" --out "$T/h2.gguf" --loss pairwise --no-gate --epochs 3 -q --val 0
[ -s "$T/err" ] && { cat "$T/err"; fail "--quiet printed to stderr"; }
grep -q "val loss n/a" "$T/out" || { cat "$T/out"; fail "no-validation summary"; }

# ---- errors
expect 2 "$BIN" swift-train --out "$T/x.gguf"
expect 2 "$BIN" swift-train --in "$T/store"
expect 2 "$BIN" swift-train --in "$T/store" --out "$T/x.gguf" --loss l2
expect 2 "$BIN" swift-train --in "$T/store" --out "$T/x.gguf" --lr abc
expect 2 "$BIN" swift-train --in "$T/store" --out "$T/x.gguf" --epochs -1
expect 2 "$BIN" swift-train --in "$T/store" --out "$T/x.gguf" --val 1.5
expect 2 "$BIN" swift-train --in "$T/store" --out "$T/x.gguf" --bogus
expect 2 "$BIN" swift-train --in "$T/store" --out
expect 1 "$BIN" swift-train --in "$T/nonexistent" --out "$T/x.gguf"
expect 1 "$BIN" swift-train --in "$T/store" --out "$T/no/such/dir/x.gguf"
mkdir "$T/empty"
cp "$T/store/meta.json" "$T/empty/"; : >"$T/empty/index.jsonl"; : >"$T/empty/features.bin"
expect 1 "$BIN" swift-train --in "$T/empty" --out "$T/x.gguf"
grep -q "no candidates" "$T/err" || fail "empty store message"
cp -r "$T/store" "$T/corrupt"
sed -i '3s/"label": [01]/"label": 7/' "$T/corrupt/index.jsonl"
expect 1 "$BIN" swift-train --in "$T/corrupt" --out "$T/x.gguf"
grep -q "index.jsonl:3:" "$T/err" || { cat "$T/err"; fail "corrupt line not named"; }
truncate -s 100 "$T/corrupt/features.bin"; cp "$T/store/index.jsonl" "$T/corrupt/"
expect 1 "$BIN" swift-train --in "$T/corrupt" --out "$T/x.gguf"
[ -e "$T/x.gguf" ] && fail "a head was written on error"
echo "ok"
