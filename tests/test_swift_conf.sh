#!/usr/bin/env bash
# test_swift_conf.sh — SWIFT's confidence features (--swift-conf) end to end on the tinymath testbed:
# swift-collect with and without them (same seeds: the same candidates) stores the same layer
# features, plus two columns (log p of the token, entropy of its distribution; their values against
# a teacher-forced recomputation: tests/test_batch.c); swift-train refuses a store with them without
# --swift-conf and the other way round, keeps them with --swift-layers; the head records them
# (swift.conf) and bon / eval use them.
set -u
BIN=${SS_BIN:-build/slotswift}
TB=../shared/testbed
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
S="-m $TB/tinymath-f32.gguf --chat --data $TB/swift_train.jsonl --limit 8 -N 4 --temp 0.8 --top-p 0.95 --top-k 0 --min-p 0 -n 80 --seed 1 -t 2"
"$BIN" swift-collect $S --swift-layers last2 --out "$T/plain" 2>"$T/err" || { cat "$T/err"; fail "collect"; }
"$BIN" swift-collect $S --swift-layers last2 --swift-conf --out "$T/conf" 2>"$T/err" || { cat "$T/err"; fail "collect --swift-conf"; }
# resuming with the other setting is refused (names the field)
"$BIN" swift-collect $S --swift-layers last2 --out "$T/conf" >/dev/null 2>"$T/err" && fail "resume without --swift-conf accepted"
grep -q "conf" "$T/err" || fail "resume error: $(cat "$T/err")"
python3 - "$T/plain" "$T/conf" <<'PY' || fail "stores"
import json, math, struct, sys
def load(d):
    meta = json.load(open(d + "/meta.json"))
    idx = [json.loads(l) for l in open(d + "/index.jsonl")]
    raw = open(d + "/features.bin", "rb").read()
    rows = []
    for r in idx:
        n = r["n_tokens"] * meta["dim"]
        v = struct.unpack_from("<%df" % n, raw, r["offset"])
        rows.append([v[t * meta["dim"]:(t + 1) * meta["dim"]] for t in range(r["n_tokens"])])
    return meta, idx, rows
mp, ip, rp = load(sys.argv[1])
mc, ic, rc = load(sys.argv[2])
assert "conf" not in mp and mc["conf"] is True and mc["dim"] == mp["dim"] + 2, (mp["dim"], mc["dim"])
assert [r["text"] for r in ip] == [r["text"] for r in ic]
for a, b in zip(rp, rc):
    assert len(a) == len(b)
    for x, y in zip(a, b):
        assert list(x) == list(y[:-2])
        lp, h = y[-2], y[-1]
        assert lp <= 0 and 0 <= h <= math.log(1024) + 1e-4 and -lp < 30
print("stores: same layer features, conf columns present")
PY
expect_one_line() { [ "$(wc -l <"$T/err")" -eq 1 ] || fail "not one line: $(cat "$T/err")"; }
"$BIN" swift-train --in "$T/conf" --out "$T/x.gguf" -q >/dev/null 2>"$T/err"; [ $? -eq 1 ] || fail "conf store trained without --swift-conf"
expect_one_line; grep -q -- "--swift-conf" "$T/err" || fail "message: $(cat "$T/err")"
"$BIN" swift-train --in "$T/plain" --out "$T/x.gguf" -q --swift-conf >/dev/null 2>"$T/err"; [ $? -eq 1 ] || fail "plain store trained with --swift-conf"
expect_one_line
[ -e "$T/x.gguf" ] && fail "a refused training wrote a head"
"$BIN" swift-train --in "$T/plain" --out "$T/hp.gguf" --epochs 3 -q >/dev/null 2>"$T/err" || { cat "$T/err"; fail "train"; }
"$BIN" swift-train --in "$T/conf" --out "$T/h.gguf" --swift-conf --epochs 3 -q >/dev/null 2>"$T/err" || { cat "$T/err"; fail "train --swift-conf"; }
"$BIN" swift-train --in "$T/conf" --out "$T/h1.gguf" --swift-conf --swift-layers last1 --epochs 3 -q >/dev/null 2>"$T/err" || { cat "$T/err"; fail "train --swift-conf --swift-layers last1"; }
# the head file, read by an independent GGUF reader: swift.conf true, dim 256 + 2, W [258, 2]
python3 -c "
import sys; sys.path.insert(0, 'scripts')
from gguf_read import gguf_read
kv, ten, _ = gguf_read(sys.argv[1])
assert kv['swift.conf'] is True and kv['swift.dim'] == 258 and ten['swift.W'][0] == [258, 2], (kv.get('swift.conf'), kv['swift.dim'], ten['swift.W'])
kv, _, _ = gguf_read(sys.argv[2])
assert 'swift.conf' not in kv
" "$T/h1.gguf" "$T/hp.gguf" || fail "head file keys"
# bon and eval with the head: the features are computed (the reward is a number)
Q="Jack has 47 stamps. Adam has 18 more stamps than Jack. How many stamps does Adam have?"
"$BIN" bon -m $TB/tinymath-f32.gguf --chat -p "$Q" -N 3 --temp 0.8 -n 60 -t 2 --swift "$T/h1.gguf" --json >"$T/b.json" 2>"$T/err" || { cat "$T/err"; fail "bon --swift conf head"; }
python3 -c "import json,sys; d=json.load(open(sys.argv[1])); assert all(isinstance(c['swift'], float) for c in d['candidates'])" "$T/b.json" || fail "bon rewards"
echo "test_swift_conf: ok"
