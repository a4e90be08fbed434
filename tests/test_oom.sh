#!/usr/bin/env bash
# test_oom.sh — out of memory is an error, not a crash: commands run under a sweep of address-space
# limits (ulimit -v) must either succeed or exit 1 with a one-line message (never a signal), and
# the sweep must hit both outcomes. Covers model/tokenizer loading, the context, the KV cache and
# decode (dump), tokenizing with a PCRE2 pre-tokenizer (tokenize), generation (generate) and
# Best-of-N with SLOT (bon). The small allocations of generation (the engine's requests, texts,
# token arrays, batches) are reached by failing the N-th allocation and every later one instead
# (tests/failmalloc.c, an LD_PRELOAD shim), for N over a whole run; so are the metadata strings
# of info and gen-model --shape-from (which must not come out missing instead). Skipped under ASan (its shadow
# memory needs terabytes of address space).
set -u
BIN=${SS_BIN:-build/slotswift}
S=../shared/models
if nm "$BIN" 2>/dev/null | grep -q __asan_init; then echo "skip: ASan build"; exit 0; fi
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fail=0
sweep() {   # sweep FROM TO STEP -- command...
  local from=$1 to=$2 step=$3; shift 4
  local n_ok=0 n_err=0 n_bad=0
  for kb in $(seq "$from" "$step" "$to"); do
    ( ulimit -v "$kb"; exec "$@" ) >/dev/null 2>"$T/err0"; local rc=$?
    # GnuTLS (libmicrohttpd's) prints this from its constructor, before main, when it cannot allocate
    grep -v '^Error in GnuTLS initialization' "$T/err0" >"$T/err"
    if [ $rc -eq 0 ]; then n_ok=$((n_ok + 1))
    elif [ $rc -eq 127 ] && grep -q 'error while loading shared libraries' "$T/err"; then :   # too small to start at all
    elif [ $rc -eq 1 ] && [ "$(wc -l <"$T/err")" -eq 1 ]; then n_err=$((n_err + 1))
    else n_bad=$((n_bad + 1)); echo "FAIL ulimit -v $kb: exit $rc: $*"; head -3 "$T/err"; fi
  done
  if [ $n_bad -eq 0 ] && [ $n_ok -gt 0 ] && [ $n_err -gt 0 ]; then echo "ok   $n_ok ran, $n_err one-line errors: $*"
  else echo "FAIL $n_ok ran, $n_err one-line errors, $n_bad crashes/bad exits: $*"; fail=1; fi
}
# fail_sweep [same] -- command...: allocation N fails (and every later one), for every N from the
# first allocation after the program's start (the count of `slotswift --help`: the dynamic libraries'
# constructors allocate before main) to one past the run's total; that last run must succeed, the
# others succeed or print one line that says "out of memory" (not, say, "missing key") and exit 1;
# with `same`, a run that succeeds prints what the run without a failure printed (not, say, a
# model without its name)
fail_sweep() {
  local same=0; [ "$1" = same ] && { same=1; shift; }; shift
  local n_ok=0 n_err=0 n_bad=0 start total
  SS_FAIL_MALLOC_COUNT="$T/count" LD_PRELOAD="$T/failmalloc.so" "$BIN" --help >/dev/null 2>&1
  start=$(cat "$T/count")
  SS_FAIL_MALLOC_COUNT="$T/count" LD_PRELOAD="$T/failmalloc.so" "$@" >"$T/out0" 2>"$T/err" || { echo "FAIL (no failure injected): $*"; cat "$T/err"; fail=1; return; }
  total=$(cat "$T/count")
  for n in $(seq $((start + 1)) $((total + 1))); do
    SS_FAIL_MALLOC_AT=$n LD_PRELOAD="$T/failmalloc.so" "$@" >"$T/out" 2>"$T/err"; local rc=$?
    if [ $rc -eq 0 ] && [ $same -eq 1 ] && ! cmp -s "$T/out" "$T/out0"; then
      n_bad=$((n_bad + 1)); echo "FAIL allocation $n of $total fails: exit 0 with another output: $*"; diff "$T/out0" "$T/out" | head -3
    elif [ $rc -eq 0 ]; then n_ok=$((n_ok + 1))
    elif [ $rc -eq 1 ] && [ "$(wc -l <"$T/err")" -eq 1 ] && grep -q 'out of memory' "$T/err"; then n_err=$((n_err + 1))
    else n_bad=$((n_bad + 1)); echo "FAIL allocation $n of $total fails: exit $rc: $*"; head -3 "$T/err"; fi
  done
  if [ $n_bad -eq 0 ] && [ $n_ok -gt 0 ] && [ $n_err -gt 0 ]; then echo "ok   allocations $((start + 1))..$total: $n_ok ran, $n_err one-line errors: $*"
  else echo "FAIL $n_ok ran, $n_err one-line errors, $n_bad crashes/bad exits: $*"; fail=1; fi
}
${CC:-cc} -O1 -shared -fPIC -o "$T/failmalloc.so" tests/failmalloc.c || { echo "FAIL: cannot build tests/failmalloc.c"; exit 1; }
sweep 4000 40000 250 -- "$BIN" dump -m $S/stories260K-f32.gguf -p "Once upon a time" -n 4 -t 1 -c 128
sweep 4000 120000 1000 -- "$BIN" tokenize -m $S/qwen2-synth-tiny-q4_k_m.gguf -p "Hello world, this is a test of 123 tokens."
sweep 8000 40000 1000 -- "$BIN" generate -m $S/stories260K-f32.gguf -p "Once upon a time" -n 8 -t 1 -c 128 --seed 1
sweep 8000 40000 1000 -- "$BIN" bon -m $S/stories260K-f32.gguf -p "Once upon a time" -N 3 -n 8 -t 1 -c 128 --seed 1 --json
fail_sweep -- "$BIN" generate -m $S/stories260K-f32.gguf -p "Once upon a time" -n 8 -t 1 -c 128 --seed 1
fail_sweep -- "$BIN" bon -m $S/stories260K-f32.gguf -p "Once upon a time" -N 3 -n 8 -t 1 -c 128 --seed 1 --slot-steps 2 --json
fail_sweep same -- "$BIN" info --json $S/stories260K-f32.gguf
fail_sweep same -- "$BIN" gen-model --shape-from $S/stories260K-f32.gguf --type f32 --vocab-from $S/stories260K-f32.gguf --dry-run -t 1
exit $fail
