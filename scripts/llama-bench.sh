#!/usr/bin/env bash
# scripts/llama-bench.sh MODEL.gguf [THREADS] [CTK] — llama.cpp's own llama-bench and llama-batched-bench
# on the same file with the tests of the README's speed table, for ratios measured in one run next to
# `slotswift bench` (CTK: the K/V cache type, f16 (default) or q8_0, as -ctk/-ctv; q8_0 V needs -fa).
# llama.cpp is built once by scripts/llama-build.sh (from the npm registry's node-llama-cpp git bundle,
# under $LLAMA_DIR, default build-llama.cpp/).
set -euo pipefail
MODEL=${1:?usage: scripts/llama-bench.sh MODEL.gguf [THREADS]}
T=${2:-2}
CT=${3:-f16}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
B=$("$ROOT/scripts/llama-build.sh" llama-bench llama-batched-bench)
"$B/llama-bench" --version 2>&1 | sed -n 1p   # (sed reads it all: no SIGPIPE under pipefail)
KV=(-ctk "$CT" -ctv "$CT")
[ "$CT" = f16 ] || KV+=(-fa 1)
# prompts of 128, 512, 2048 tokens, as `slotswift bench -p 128,512,2048 -n 0 -r 3`
"$B/llama-bench" -m "$MODEL" -p 128,512,2048 -n 0 -t "$T" -r 3 "${KV[@]}"
# 64 tokens generated after 2048 and 8192 tokens in the cache, as `slotswift bench -p 0 -n 64 -d 2048,8192 -b 1`
"$B/llama-bench" -m "$MODEL" -p 0 -n 64 -d 2048,8192 -t "$T" -r 3 "${KV[@]}"
# 1 and 8 sequences generating 64 tokens after a shared 2048-token prompt (S_TG t/s = generated
# tokens/s), as `slotswift bench -p 0 -n 64 -d 2048 -b 1,8`
"$B/llama-batched-bench" -m "$MODEL" -c 4096 -b 2048 -ub 512 -npp 2048 -ntg 64 -npl 1,8 -pps -kvu -t "$T" "${KV[@]}" 2>/dev/null | grep -E '^\|'
