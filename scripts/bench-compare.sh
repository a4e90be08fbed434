#!/usr/bin/env bash
# scripts/bench-compare.sh MODEL.gguf [THREADS] [REPEATS] — `slotswift bench` against llama.cpp's
# llama-bench and llama-batched-bench on the same file, test by test in one run (ours, then theirs,
# for each test, so both see the same machine), printed as the README's markdown table with ratios.
# Tests (override with the environment): PP="128 512 2048" prompts; TG="2048 8192" depths for 64
# generated tokens; B8="2048" depths for 8 candidates generating 64 tokens after a shared prompt
# (llama-batched-bench -pps -kvu: one KV buffer, so the shared prompt fits once); CTK=f16|q8_0 the
# K/V cache type. An empty list skips its tests.
# llama.cpp: LLAMA_BIN (a build's bin/), else built once by scripts/llama-build.sh.
set -euo pipefail
MODEL=${1:?usage: scripts/bench-compare.sh MODEL.gguf [THREADS] [REPEATS]}
T=${2:-2}
R=${3:-3}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
SS=${SS_BIN:-$ROOT/build/slotswift}
LB=${LLAMA_BIN:-$("$ROOT/scripts/llama-build.sh" llama-bench llama-batched-bench)}
[ -x "$LB/llama-bench" ] || { echo "bench-compare: no llama-bench in $LB (LLAMA_BIN)" >&2; exit 2; }
PP=${PP-128 512 2048}
TG=${TG-2048 8192}
B8=${B8-2048}
CTK=${CTK:-f16}
KV=(-ctk "$CTK" -ctv "$CTK")
LKV=("${KV[@]}")
[ "$CTK" = f16 ] || LKV+=(-fa 1)
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT

ours() {   # ours TEST-FLAGS... → t/s (median of the repeats)
  "$SS" bench -m "$MODEL" -t "$T" -r "$R" "${KV[@]}" --json "$@" 2>/dev/null |
    python3 -c 'import json,sys; print(json.loads(sys.stdin.readline())["t_s_median"])'
}
theirs() {   # theirs LLAMA-BENCH-FLAGS... → t/s (mean of the repeats, as llama-bench reports)
  "$LB/llama-bench" -m "$MODEL" -t "$T" -r "$R" "${LKV[@]}" -o json "$@" 2>/dev/null |
    python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["avg_ts"])'
}
theirs_batched() {   # theirs_batched DEPTH → S_TG t/s of 8 sequences after a shared DEPTH-token prompt
  "$LB/llama-batched-bench" -m "$MODEL" -c $(($1 + 8 * 64 + 64)) -b 2048 -ub 512 -npp "$1" -ntg 64 -npl 8 -pps -kvu \
    -t "$T" "${LKV[@]}" 2>/dev/null |
    awk -F'|' '/^\|/ && $4+0 == 8 { gsub(/ /, "", $9); print $9 }'
}
row() { python3 -c 'import sys; a, b = float(sys.argv[2]), float(sys.argv[3]); print(f"| {sys.argv[1]} | {a:.1f} | {b:.1f} | {a / b:.2f}x |")' "$@"; }

echo "# $(basename "$MODEL"), $T threads, K/V $CTK, $R repeats; llama.cpp $("$LB/llama-bench" --version 2>&1 | sed -n 's/^version: //p')"
echo "| test | slotswift t/s | llama.cpp t/s | ratio |"
echo "|---|---:|---:|---:|"
for p in $PP; do row "pp$p" "$(ours -p "$p" -n 0)" "$(theirs -p "$p" -n 0)"; done
for d in $TG; do row "tg64 @ d$d" "$(ours -p 0 -n 64 -d "$d" -b 1)" "$(theirs -p 0 -n 64 -d "$d")"; done
for d in $B8; do row "8 candidates, tg64 @ d$d" "$(ours -p 0 -n 64 -d "$d" -b 8)" "$(theirs_batched "$d")"; done
