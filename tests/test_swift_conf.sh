#!/usr/bin/env bash
# test_swift_conf.sh — SWIFT's confidence features (--swift-conf) end to end on the tinymath testbed:
# swift-collect with and without them (same seeds: the same candidates) stores the same layer
# features, plus two columns (log p of the token, entropy of its distribution; their values against
# a teacher-forced recomputation: tests/test_batch.c); swift-train refuses a store with them without
# --swift-conf and the other way round, keeps them with --swift-layers; the head records them
# (swift.conf) and bon / eval use them. --init conf starts from the mean-log-prob head (with 0 epochs
# it is that head: eval's rewards are logprob_mean), --select-epoch bon reports the init as epoch 0.
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
# --init conf --epochs 0: the mean-log-prob head (W_r = e_logp, the rest 0); eval with it gives every
# candidate the reward logprob_mean and picks what --select logprob picks (the first of the highest)
"$BIN" swift-train --in "$T/conf" --out "$T/h0.gguf" --swift-conf --init conf --epochs 0 -q >/dev/null 2>"$T/err" || { cat "$T/err"; fail "train --init conf --epochs 0"; }
python3 -c "
import sys, struct; sys.path.insert(0, 'scripts')
from gguf_read import gguf_read
kv, ten, blob = gguf_read(sys.argv[1])
F = kv['swift.dim']
W = struct.unpack_from('<%df' % (2 * F), blob, ten['swift.W'][2]); b = struct.unpack_from('<2f', blob, ten['swift.b'][2])
assert W[F + F - 2] == 1.0 and sum(1 for w in W if w != 0) == 1 and b == (0.0, 0.0), (W[F + F - 2], b)
" "$T/h0.gguf" || fail "--init conf --epochs 0: head weights"
"$BIN" eval $S --swift "$T/h0.gguf" --out "$T/e0.jsonl" >"$T/e0.sum" 2>"$T/err" || { cat "$T/err"; fail "eval with the conf-init head"; }
python3 - "$T/e0.jsonl" "$T/e0.sum" <<'PY' || fail "the conf-init head is not the mean log-prob"
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])][1:]
assert len(rows) == 8
for r in rows:
    c = r["candidates"]
    assert all(abs(x["swift"] - x["logprob_mean"]) <= 1e-6 * max(1, abs(x["logprob_mean"])) for x in c)
    lp = [x["logprob_mean"] for x in c]
    assert r["selected"] == lp.index(max(lp)), (r["selected"], lp)
s = json.load(open(sys.argv[2]))
assert s["selected_at_k"] == s["logprob_at_k"], (s["selected_at_k"], s["logprob_at_k"])
PY
# --select-epoch bon: epoch 0 (the init) is reported and the kept epoch is recorded in the head
"$BIN" swift-train --in "$T/conf" --out "$T/hb.gguf" --swift-conf --init conf --select-epoch bon --loss pairwise --epochs 2 >"$T/out" 2>"$T/err" || { cat "$T/err"; fail "train --select-epoch bon"; }
grep -q "^epoch 0 (init) .*val best-of-N" "$T/err" || fail "no epoch 0 line: $(cat "$T/err")"
python3 -c "
import sys, json; sys.path.insert(0, 'scripts')
from gguf_read import gguf_read
kv, _, _ = gguf_read(sys.argv[1]); t = json.loads(kv['swift.train_info'])
assert t['select'] == 'val_best_of_n' and t['init'].startswith('conf') and 0 <= t['best_epoch'] <= 2, t
" "$T/hb.gguf" || fail "train_info of --select-epoch bon"
# bad values: exit 2, one line naming the flag
for bad in "--init conf|--init conf" "--swift-conf --init zero|--init: 'zero'" "--swift-conf --select-epoch best|--select-epoch: 'best'"; do
  "$BIN" swift-train --in "$T/plain" --out "$T/x.gguf" ${bad%%|*} >/dev/null 2>"$T/err"; [ $? -eq 2 ] || fail "${bad%%|*}: not exit 2"
  expect_one_line; grep -qF -- "${bad#*|}" "$T/err" || fail "${bad%%|*}: $(cat "$T/err")"
done
# bon and eval with the head: the features are computed (the reward is a number)
Q="Jack has 47 stamps. Adam has 18 more stamps than Jack. How many stamps does Adam have?"
"$BIN" bon -m $TB/tinymath-f32.gguf --chat -p "$Q" -N 3 --temp 0.8 -n 60 -t 2 --swift "$T/h1.gguf" --json >"$T/b.json" 2>"$T/err" || { cat "$T/err"; fail "bon --swift conf head"; }
python3 -c "import json,sys; d=json.load(open(sys.argv[1])); assert all(isinstance(c['swift'], float) for c in d['candidates'])" "$T/b.json" || fail "bon rewards"
echo "test_swift_conf: ok"
