#!/usr/bin/env bash
# scripts/swift-conf.sh OUT_DIR [TRAIN_Q] [TEST_Q] — SWIFT heads with and without the confidence
# features (--swift-conf) on the tinymath testbed (F32), 8 samples per question (T 0.8, top-p 0.95):
# stores of the first TRAIN_Q swift_train.jsonl questions (default 2000; all layers and last 4), heads
# trained on them (BCE; last 4 also with --standardize), then eval on the first TEST_Q test questions (default 500; seed 2: the same
# candidates as scripts/testbed.sh) selected by each head; every summary also has vote@8 and
# logprob@8 of those candidates. Threads: THREADS (default 1).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
B=${SS_BIN:-$ROOT/build/slotswift}
TB=$(cd "$ROOT/../shared/testbed" && pwd)
OUT=${1:?usage: scripts/swift-conf.sh OUT_DIR [TRAIN_Q] [TEST_Q]}
TRAIN_Q=${2:-2000}
TEST_Q=${3:-500}
THREADS=${THREADS:-1}
mkdir -p "$OUT"
cd "$OUT"
M=$TB/tinymath-f32.gguf
S="--chat -N 8 --temp 0.8 --top-p 0.95 --top-k 0 --min-p 0 -n 100 -t $THREADS"
for conf in "" "--swift-conf"; do
  tag=${conf:+_conf}
  "$B" swift-collect -m $M --data $TB/swift_train.jsonl --limit "$TRAIN_Q" $S --seed 1 --f16 $conf --out "collect$tag" 2>/dev/null
  [ -s "head_all$tag.gguf" ] || "$B" swift-train --in "collect$tag" $conf -q --out "head_all$tag.gguf"
  [ -s "head_last4$tag.gguf" ] || "$B" swift-train --in "collect$tag" $conf -q --swift-layers last4 --out "head_last4$tag.gguf"
  [ -s "head_last4_std$tag.gguf" ] || "$B" swift-train --in "collect$tag" $conf -q --swift-layers last4 --standardize --out "head_last4_std$tag.gguf"
  for h in all last4 last4_std; do
    [ -s "swift_$h$tag.summary" ] || "$B" eval -m $M --data $TB/test.jsonl --limit "$TEST_Q" $S --seed 2 --swift "head_$h$tag.gguf" \
        --out "swift_$h$tag.jsonl" > "swift_$h$tag.summary" 2>/dev/null
  done
done
python3 - "$TEST_Q" <<'PY'
import json, sys
s = {k: json.load(open(f"swift_{k}.summary")) for k in ("all", "last4", "last4_std", "all_conf", "last4_conf", "last4_std_conf")}
print(f"| first {sys.argv[1]} test questions, N = 8 | accuracy |")
print("|---|---:|")
print(f"| vote@8 | {100 * s['all']['vote_at_k']['8']:.1f}% |")
print(f"| logprob@8 | {100 * s['all']['logprob_at_k']['8']:.1f}% |")
for k, name in (("all", "SWIFT@8, all layers"), ("last4", "SWIFT@8, last 4 layers"),
                ("last4_std", "SWIFT@8, last 4 layers, --standardize"),
                ("all_conf", "SWIFT@8, all layers + --swift-conf"), ("last4_conf", "SWIFT@8, last 4 layers + --swift-conf"),
                ("last4_std_conf", "SWIFT@8, last 4 layers, --standardize + --swift-conf")):
    print(f"| {name} | {100 * s[k]['accuracy']:.1f}% |")
print(f"| pass@8 (oracle) | {100 * s['all']['pass_at_k']['8']:.1f}% |")
PY
