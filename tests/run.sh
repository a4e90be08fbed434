#!/usr/bin/env bash
# tests/run.sh — run every test program (build/tests/test_*, cmocka) and shell test (tests/test_*.sh;
# exit 77 = skipped, shown as "skip NAME: reason"), then print one closing line "tests: N passed, N failed".
# Test programs read ../shared (models, golden outputs, tokenizer vectors) relative to the project root.
set -u
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
export SS_BIN="$BUILD/slotswift"
passed=0; failed=0; failed_names=()
# a test must never replace the system's devices (as root, a writer that renamed over /dev/null
# would break every later test and the machine): checked after each test, the culprit named
devs_check() { [ -c /dev/null ] && [ -c /dev/full ] || { echo "FAIL $1 replaced /dev/null or /dev/full"; failed=$((failed + 1)); failed_names+=("$1(devices)"); }; }
for t in "$BUILD"/tests/test_*; do
  [ -x "$t" ] || continue
  name=$(basename "$t")
  out=$(timeout 1200 "$t" 2>&1); rc=$?
  p=$(printf '%s\n' "$out" | sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' | awk '{s+=$1} END {print s+0}')
  f=$(printf '%s\n' "$out" | sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' | awk '{s+=$1} END {print s+0}')
  if [ $rc -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi
  passed=$((passed + p)); failed=$((failed + f))
  if [ "$f" -ne 0 ]; then failed_names+=("$name"); printf '%s\n' "$out" | tail -40; echo "FAIL $name (exit $rc)"; else echo "ok   $name ($p)"; fi
  devs_check "$name"
done
for t in tests/test_*.sh; do
  [ -f "$t" ] || continue
  name=$(basename "$t")
  out=$(timeout 1200 bash "$t" 2>&1); rc=$?
  # exit 77: the test cannot run here (e.g. no MPI); shown with its reason, counted as neither
  if [ $rc -eq 77 ]; then echo "skip $name: $(printf '%s\n' "$out" | sed -n 's/^skip: //p' | head -1)"; devs_check "$name"; continue; fi
  if [ $rc -eq 0 ]; then passed=$((passed + 1)); echo "ok   $name"; else failed=$((failed + 1)); failed_names+=("$name"); printf '%s\n' "$out" | tail -40; echo "FAIL $name (exit $rc)"; fi
  devs_check "$name"
done
[ ${#failed_names[@]} -eq 0 ] || echo "failed: ${failed_names[*]}"
echo "tests: $passed passed, $failed failed"
[ $failed -eq 0 ] && [ $passed -gt 0 ]
