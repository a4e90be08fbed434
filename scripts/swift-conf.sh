#!/usr/bin/env bash
# scripts/swift-conf.sh OUT_DIR [TRAIN_Q] [TEST_Q] — SWIFT heads with and without the confidence
# features (--swift-conf) on the tinymath testbed (F32), 8 samples per question (T 0.8, top-p 0.95):
# stores of the first TRAIN_Q swift_train.jsonl questions (default 2000; all layers, heads on all
# layers and on the last 4), then eval on the first TEST_Q test questions (default 500; seed 2: the same
# candidates as scripts/testbed.sh) selected by each head; every summary also has vote@8 and logprob@8
# of those candidates. Heads:
#   plain      no confidence features, BCE (the paper's recipe; = scripts/testbed.sh's head_all / head_last4)
#   conf_bce   --swift-conf, the same recipe
#   conf       --swift-conf --init conf --select-epoch bon --loss pairwise --standardize --lr 1e-6: start
#              from the mean-log-prob head, rank within questions, keep the epoch (the init included)
#              with the best best-of-N on the held-out 20% of the training questions
# Threads: THREADS (default 1). Stores: about 2 GB each for 2000 questions.
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
CONF="--init conf --select-epoch bon --loss pairwise --standardize --lr 1e-6 --epochs 20"
"$B" swift-collect -m $M --data $TB/swift_train.jsonl --limit "$TRAIN_Q" $S --seed 1 --f16 --out collect 2>/dev/null
"$B" swift-collect -m $M --data $TB/swift_train.jsonl --limit "$TRAIN_Q" $S --seed 1 --f16 --swift-conf --out collect_conf 2>/dev/null
for l in all last4; do
  [ -s "head_${l}_plain.gguf" ] || "$B" swift-train --in collect --swift-layers $l -q --out "head_${l}_plain.gguf"
  [ -s "head_${l}_conf_bce.gguf" ] || "$B" swift-train --in collect_conf --swift-conf --swift-layers $l -q --out "head_${l}_conf_bce.gguf"
  [ -s "head_${l}_conf.gguf" ] || "$B" swift-train --in collect_conf --swift-conf --swift-layers $l $CONF -q --out "head_${l}_conf.gguf"
done
for h in all_plain last4_plain all_conf_bce last4_conf_bce all_conf last4_conf; do
  [ -s "swift_$h.summary" ] || "$B" eval -m $M --data $TB/test.jsonl --limit "$TEST_Q" $S --seed 2 --swift "head_$h.gguf" \
      --out "swift_$h.jsonl" > "swift_$h.summary" 2>/dev/null
done
python3 - "$TEST_Q" <<'PY'
import json, sys
k = ("all_plain", "last4_plain", "all_conf_bce", "last4_conf_bce", "all_conf", "last4_conf")
s = {h: json.load(open(f"swift_{h}.summary")) for h in k}
p = lambda x: f"{100 * x:.1f}%"
print(f"| first {sys.argv[1]} test questions, N = 8 | all layers | last 4 layers |")
print("|---|---:|---:|")
print(f"| vote@8 | {p(s['all_plain']['vote_at_k']['8'])} | |")
print(f"| logprob@8 | {p(s['all_plain']['logprob_at_k']['8'])} | |")
for t, name in (("plain", "SWIFT@8 (BCE)"), ("conf_bce", "SWIFT@8 + `--swift-conf` (BCE)"),
                ("conf", "SWIFT@8 + `--swift-conf --init conf --select-epoch bon` (pairwise)")):
    print(f"| {name} | {p(s['all_' + t]['accuracy'])} | {p(s['last4_' + t]['accuracy'])} |")
print(f"| pass@8 (oracle) | {p(s['all_plain']['pass_at_k']['8'])} | |")
PY
