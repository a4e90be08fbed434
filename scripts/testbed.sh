#!/usr/bin/env bash
# scripts/testbed.sh OUT_DIR — the SLOT / SWIFT measurements on ../shared/testbed (tinymath, f32):
# greedy, greedy + SLOT, and 8 samples (T 0.8, top-p 0.95, as the testbed's RESULTS.md) selected by
# vote / mean log-prob / SWIFT heads (all layers, last 4, logits), with pass@8 as the oracle.
# Every eval prints its table on stderr and a JSON summary (OUT/*.summary). About an hour on 2 cores.
set -euo pipefail
B=$(cd "$(dirname "$0")/.." && pwd)/build/slotswift
TB=$(cd "$(dirname "$0")/../../shared/testbed" && pwd)
M=$TB/tinymath-f32.gguf
OUT=${1:?usage: scripts/testbed.sh OUT_DIR}
mkdir -p "$OUT" && cd "$OUT"
G="--chat --data $TB/test.jsonl -n 100"
S="--chat -N 8 --temp 0.8 --top-p 0.95 --top-k 0 --min-p 0 -n 100"
$B eval -m $M $G --temp 0 --out greedy.jsonl > greedy.summary
for cfg in "3 0.01" "3 0.1" "5 0.1" "5 0.5"; do
  set -- $cfg
  $B eval -m $M $G --temp 0 --slot-steps $1 --slot-lr $2 --out slot_s$1_lr$2.jsonl > slot_s$1_lr$2.summary
done
# SWIFT training data: 8 samples for each of the 2000 swift_train questions (features captured while generating)
$B swift-collect -m $M --data $TB/swift_train.jsonl $S --seed 1 --f16 --out collect_all
$B swift-collect -m $M --data $TB/swift_train.jsonl $S --seed 1 --f16 --swift-logits --limit 1000 --out collect_logits
$B swift-train --in collect_all --out head_all.gguf
$B swift-train --in collect_all --swift-layers last4 --out head_last4.gguf
$B swift-train --in collect_logits --out head_logits.gguf
$B swift-train --in collect_all --standardize --loss pairwise --patience 5 --out head_all_pw.gguf
$B swift-train --in collect_all --swift-layers last4 --standardize --loss pairwise --patience 5 --out head_last4_pw.gguf
# 8 samples per test question (the same candidates in every run: same seeds), selected by each head;
# each summary also holds vote@k, logprob@k and pass@k of those candidates
for h in all last4 logits all_pw last4_pw; do
  $B eval -m $M --data $TB/test.jsonl $S --seed 2 --parallel 4 --swift head_$h.gguf --out swift_$h.jsonl > swift_$h.summary
done
# independent check (numpy): the test candidates' features (same seed -> the same candidates as the
# evals above), ridge probes trained on collect_all, and eval's rewards recomputed from the features
$B swift-collect -m $M --data $TB/test.jsonl $S --seed 2 --out collect_test
if /usr/bin/python3 -c "import numpy" 2>/dev/null; then
  /usr/bin/python3 "$(dirname "$B")/../scripts/swift_probe.py" collect_all collect_test \
      --head head_last4.gguf --results swift_last4.jsonl > probe.txt
fi
