#!/usr/bin/env bash
# scripts/serve-bench.sh MODEL.gguf [THREADS] — `slotswift serve` against llama.cpp's llama-server on
# the same file with the same clients (scripts/serve-bench.mjs): K = 1, 4, 8 streaming clients, each
# request with its own 128-token prompt, 128 generated tokens (ignore_eos, greedy); aggregate
# tokens/s, time to first token and inter-token latency (p50, p99). At K = 8 slotswift also runs
# with one more request 2 s in: plain ("extra"), then with 5 SLOT steps ("slot"): what SLOT costs the
# other streams is slot against extra. Both servers: THREADS threads, K sequences (--parallel K),
# 512 tokens of context per sequence (-c 512·K: llama-server splits it between its K slots, slotswift
# shares it), F16 KV cache, their default batch sizes. The two servers alternate (slotswift, then
# llama-server, for each K; then the K = 8 runs with one more request, SLOT=0 skips them); ROUNDS=N
# repeats it all N times, KS="1 4 8" picks the Ks.
# llama-server: $LLAMA_SERVER, else built by scripts/llama-build.sh (the llama.cpp source of
# scripts/llama-bench.sh). A benchmark, not a test: run it on an otherwise idle machine.
set -euo pipefail
MODEL=${1:?usage: scripts/serve-bench.sh MODEL.gguf [THREADS]}
T=${2:-2}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN=${SS_BIN:-$ROOT/build/slotswift}
LS=${LLAMA_SERVER:-$("$ROOT/scripts/llama-build.sh" llama-server)/llama-server}
PORT=${PORT:-18080}
P=
trap '[ -z "$P" ] || kill $P 2>/dev/null || true' EXIT
wait_up() { for _ in $(seq 600); do curl -sf "http://127.0.0.1:$PORT/health" >/dev/null 2>&1 && return 0; sleep 0.2; done; echo "server did not start" >&2; return 1; }
stop() { kill $P; wait $P 2>/dev/null || true; P=; }
bench() { SERVER_PID=$P node "$ROOT/scripts/serve-bench.mjs" "http://127.0.0.1:$PORT" "$@"; }
echo "# $(basename "$MODEL"), $T threads; llama-server $("$LS" --version 2>&1 | grep -m1 -o 'commit [0-9a-f]*' || true)"
for round in $(seq "${ROUNDS:-1}"); do
  for K in ${KS:-1 4 8}; do
    C=$((K * 512))
    echo "# round $round, K = $K, load average $(cut -d' ' -f1-3 /proc/loadavg)"
    "$BIN" serve -m "$MODEL" --port "$PORT" -t "$T" -c $C --parallel $K --queue 64 >/dev/null 2>&1 & P=$!
    wait_up
    echo "slotswift    $(bench $K)"
    stop
    "$LS" -m "$MODEL" --port "$PORT" -t "$T" -c $C --parallel $K --cont-batching >/dev/null 2>&1 & P=$!
    wait_up
    echo "llama-server $(bench $K)"
    stop
    if [ $K = 8 ] && [ "${SLOT:-1}" = 1 ]; then
      "$BIN" serve -m "$MODEL" --port "$PORT" -t "$T" -c $C --parallel $K --queue 64 >/dev/null 2>&1 & P=$!
      wait_up
      echo "slotswift    $(bench $K extra)"
      echo "slotswift    $(bench $K slot)"
      stop
    fi
  done
done
