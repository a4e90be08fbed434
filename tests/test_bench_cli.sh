#!/usr/bin/env bash
# test_bench_cli.sh — `slotswift bench`: the --json objects carry the keys issue 3 names (plus the
# median), one per test (pp, tg, tgNxbB), with consistent values; bad flags exit 2 with a one-line
# error. (Speed itself is measured by the command, never asserted here.)
set -u
BIN=${SS_BIN:-build/slotswift}
ST=../shared/models/stories260K-f32.gguf
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
. "$(dirname "$0")/expect.sh"   # ok / bad / expect / expect_rc, fail=0

timeout 300 "$BIN" bench -m "$ST" -p 16 -n 8 -b 1,3 -r 3 -t 2 --json >"$T/out" 2>"$T/err"
rc=$?
[ $rc -eq 0 ] && ok "bench --json exit 0" || { bad "bench --json exit $rc: $(head -3 "$T/err")"; }
# every line is a JSON object with the required keys; tests pp16, tg8, tg8xb3; sd >= 0; the median
# of 3 positive values is positive; mean within [median - 2 sd, median + 2 sd] (3 values)
/usr/bin/python3 - "$T/out" <<'PY' && ok "json objects and keys" || bad "json objects and keys"
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
assert [r["test"] for r in rows] == ["pp16", "tg8", "tg8xb3"], [r["test"] for r in rows]
for r in rows:
    for k in ("model", "type", "threads", "test", "t_s_mean", "t_s_sd", "t_s_median", "peak_rss_mb"):
        assert k in r, k
    assert r["threads"] == 2
    assert r["t_s_sd"] >= 0 and r["t_s_median"] > 0 and r["t_s_mean"] > 0
    assert abs(r["t_s_mean"] - r["t_s_median"]) <= 2 * r["t_s_sd"] + 1e-6 * r["t_s_mean"], r
PY
# lists and depths: -p 8,16 -n 4 -d 0,40 -b 1,2 → at each depth pp8, pp16, tg4, tg4xb2; "depth" is
# the tokens already in the cache (a batched test at depth 0 shares the first -p prompt); the
# context is sized for the tests (no -c)
timeout 300 "$BIN" bench -m "$ST" -p 8,16 -n 4 -d 0,40 -b 1,2 -r 1 -t 1 --json >"$T/out" 2>"$T/err"
rc=$?
[ $rc -eq 0 ] && ok "bench lists and depths exit 0" || bad "bench lists and depths exit $rc: $(head -3 "$T/err")"
/usr/bin/python3 - "$T/out" <<'PY' && ok "lists and depths: tests and depth keys" || bad "lists and depths: $(cat "$T/out")"
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
got = [(r["test"], r["depth"]) for r in rows]
want = [("pp8", 0), ("pp16", 0), ("tg4", 0), ("tg4xb2", 8), ("pp8", 40), ("pp16", 40), ("tg4", 40), ("tg4xb2", 40)]
assert got == want, got
assert all(r["t_s_median"] > 0 for r in rows)
PY
timeout 300 "$BIN" bench -m "$ST" -p 8 -n 4 -d 30 -b 1 -r 1 -t 1 >"$T/out" 2>"$T/err"
grep -q '| pp8 @ d30 ' "$T/out" && grep -q '| tg4 @ d30 ' "$T/out" && ok "table names the depth" || bad "table depth: $(cat "$T/out")"
# KV cache types (-ctk/-ctv as llama.cpp): recorded as type_k/type_v; a model whose head dim Q8_0
# cannot hold (stories260K: 8) is refused with one line
QW=../shared/models/qwen2-synth-tiny-q4_k_m.gguf
timeout 300 "$BIN" bench -m "$QW" -p 40 -n 4 -d 0,33 -b 1,2 -r 1 -t 1 -ctk q8_0 -ctv q8_0 --json >"$T/out" 2>"$T/err"
/usr/bin/python3 - "$T/out" <<'PY' && ok "bench -ctk q8_0 -ctv q8_0: type_k, type_v" || bad "bench q8_0 cache: $(cat "$T/out" "$T/err" | head -5)"
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
assert len(rows) == 6 and all(r["type_k"] == "q8_0" and r["type_v"] == "q8_0" and r["t_s_median"] > 0 for r in rows), rows
PY
timeout 60 "$BIN" bench -m "$ST" -p 8 -n 0 -r 1 -ctk q8_0 >"$T/out" 2>"$T/err"; rc=$?
[ $rc -eq 1 ] && grep -q "multiple of 32" "$T/err" && ok "q8_0 cache refused for head dim 8: $(head -1 "$T/err")" || bad "q8_0 on head dim 8: exit $rc, $(head -2 "$T/err")"
# the table: one row per test, then a median per test
timeout 300 "$BIN" bench -m "$ST" -p 16 -n 8 -b 1 -r 2 -t 1 >"$T/out" 2>"$T/err"
[ "$(grep -c '^| llama' "$T/out")" -eq 2 ] && ok "table rows" || bad "table rows: $(cat "$T/out")"
[ "$(grep -c ' median ' "$T/out")" -eq 2 ] && ok "medians printed" || bad "no medians: $(cat "$T/out")"
# bad flags: exit 2, one line naming the flag
for args in "-b 0" "-b x,1" "-r 0" "--frobnicate" "-p 128,,512" "-n -1" "-d 1x" "-ctk q4_0" "-ctv" "-p 1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17"; do
  timeout 60 "$BIN" bench -m "$ST" -r 1 $args >"$T/out" 2>"$T/err"; rc=$?
  if [ $rc -eq 2 ] && [ "$(wc -l <"$T/err")" -le 2 ] && [ -s "$T/err" ]; then ok "bench $args: exit 2, $(head -1 "$T/err")"
  else bad "bench $args: exit $rc, $(head -2 "$T/err")"; fi
done
exit $fail
