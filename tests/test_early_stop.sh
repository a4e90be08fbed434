#!/usr/bin/env bash
# test_early_stop.sh — exact early stop of the vote (`--early-stop`) on the tinymath testbed: eval
# with and without it on the first 7 test problems (N 8, T 0.8) selects the same answer on every
# question; some candidates are stopped (marked "stopped": true, no answer), never more tokens are
# generated; the candidates that were not stopped are identical to the full run's (same seeds).
# Adaptive sampling against an independent implementation of its rule, and the offline replay of
# scripts/adaptive-frontier.py against the real runs. Also bon --json with/without,
# and the flags refused without --select vote.
set -u
BIN=${SS_BIN:-build/slotswift}
TB=../shared/testbed
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fail=0
S="-m $TB/tinymath-f32.gguf --chat -N 8 --temp 0.8 --top-p 0.95 --top-k 0 --min-p 0 -n 100 --seed 2 -t 2"
"$BIN" eval $S --data $TB/test.jsonl --limit 7 --out "$T/full.jsonl" >"$T/full.sum" 2>"$T/err" || { echo "FAIL eval"; tail -3 "$T/err"; exit 1; }
"$BIN" eval $S --data $TB/test.jsonl --limit 7 --early-stop --out "$T/es.jsonl" >"$T/es.sum" 2>"$T/err" || { echo "FAIL eval --early-stop"; tail -3 "$T/err"; exit 1; }
python3 - "$T/full.jsonl" "$T/es.jsonl" <<'PY' || fail=1
import json, sys
full = [json.loads(l) for l in open(sys.argv[1])][1:]
es = [json.loads(l) for l in open(sys.argv[2])][1:]
assert len(full) == len(es) == 7
stopped = saved = 0
for a, b in zip(full, es):
    assert a["answer"] == b["answer"], (a["index"], a["answer"], b["answer"])
    assert b["tokens"] <= a["tokens"]
    saved += a["tokens"] - b["tokens"]
    for ca, cb in zip(a["candidates"], b["candidates"]):
        if cb.get("stopped"):
            stopped += 1
            assert cb["answer"] is None and cb["tokens"] <= ca["tokens"] and ca["text"].startswith(cb["text"])
        else:
            assert "stopped" not in ca and ca["text"] == cb["text"] and ca["answer"] == cb["answer"]
assert stopped > 0 and saved > 0, (stopped, saved)
print(f"early stop: same answers on 7 questions, {stopped} candidates stopped, {saved} tokens saved")
PY
# adaptive sampling (first wave 1, then max(1, n/2) more; README "Adaptive sampling"): the started
# candidates are the full run's first ones (same seeds), and a question stops after n exactly when an
# independent re-implementation of the rule (Beta posterior by math.comb, the exact decision by
# enumerating the unstarted candidates' answers, the confidence part) says so, with the defaults and
# with --adaptive-conf 0.85 --adaptive-tokp 0.99 --adaptive-wave 2
"$BIN" eval $S --data $TB/test.jsonl --limit 7 --adaptive --out "$T/ad.jsonl" >"$T/ad.sum" 2>"$T/err" || { echo "FAIL eval --adaptive"; tail -3 "$T/err"; exit 1; }
"$BIN" eval $S --data $TB/test.jsonl --limit 7 --adaptive-wave 2 --adaptive-conf 0.85 --adaptive-tokp 0.99 --out "$T/ad2.jsonl" >"$T/ad2.sum" 2>"$T/err" || { echo "FAIL eval --adaptive-wave 2"; tail -3 "$T/err"; exit 1; }
python3 - "$T/full.jsonl" "$T/ad.jsonl" "$T/ad2.jsonl" <<'PY' || fail=1
import itertools, json, math, sys
full = [json.loads(l) for l in open(sys.argv[1])][1:]
def same(x, y):
    if x is None or y is None or x == "" or y == "": return False
    try:   # ss_answer_number_equal: within 1e-6 relative AND 0.005 absolute
        fx, fy = float(x), float(y)
        return fx == fy or (abs(fx - fy) <= 1e-6 * max(abs(fx), abs(fy)) and abs(fx - fy) <= 5e-3)
    except ValueError: return x == y
def pick(ans):   # the vote: first candidate with the most votes
    v = [sum(same(a, b) for b in ans) if a is not None else 0 for a in ans]
    return ans[v.index(max(v))] if max(v) else None
def stop(ans, lp, N, conf, tokp):
    n = len(ans)
    v = [sum(same(a, b) for b in ans) for a in ans]
    a = max(v)
    if a == 0: return False
    L = ans[v.index(a)]
    b = max([v[i] for i in range(n) if not same(ans[i], L)] or [0])
    # every answer of the unstarted: one of the started ones', none, or one new answer (the worst new case)
    if all(same(pick(ans + list(c)), L) for c in itertools.product(set(ans) | {None, "new answer"}, repeat=N - n)):
        return True
    if sum(math.comb(a + b + 1, k) for k in range(a + 1)) / 2 ** (a + b + 1) > conf: return True
    return a > b and any(same(ans[i], L) and lp[i] > math.log(tokp) for i in range(n))
for path, k0, conf, tokp in ((sys.argv[2], 1, 0.9, 0.95), (sys.argv[3], 2, 0.85, 0.99)):
    ad = [json.loads(l) for l in open(path)][1:]
    short = 0
    for a, b in zip(full, ad):
        N = len(a["candidates"])
        started = [c for c in b["candidates"] if not c.get("stopped")]
        n = len(started)
        assert all(c.get("stopped") and c["tokens"] == 0 for c in b["candidates"][n:])
        for ca, cb in zip(a["candidates"], started):
            assert ca["text"] == cb["text"] and ca["answer"] == cb["answer"]
        m = k0   # the waves the rule walks through
        while m < N and not stop([c["answer"] for c in a["candidates"][:m]], [c["logprob_mean"] for c in a["candidates"][:m]], N, conf, tokp):
            m += max(1, m // 2)
        assert n == min(m, N), (path, b["index"], n, m)
        short += n < N
    assert short > 0
    print(f"adaptive (first wave {k0}): {short} of 7 questions stopped before N, as the rule says; candidates as the full run's")
PY
# the weighted margin (the selected answer: the confidence-weighted vote), and the offline replay
# (scripts/adaptive-frontier.py) against all three adaptive runs: same candidates started, same
# tokens, same selected answer on every question
"$BIN" eval $S --data $TB/test.jsonl --limit 7 --adaptive-wave 2 --adaptive-conf 1 --adaptive-tokp 1 --adaptive-margin 0.1 --adaptive-gamma 24 --out "$T/adw.jsonl" >"$T/adw.sum" 2>"$T/err" || { echo "FAIL eval --adaptive-margin"; tail -3 "$T/err"; exit 1; }
for run in "ad.jsonl wave=1,conf=0.9,tokp=0.95" "ad2.jsonl wave=2,conf=0.85,tokp=0.99" "adw.jsonl wave=2,conf=1,tokp=1,wmargin=24:0.1,pick=wvote"; do
  set -- $run
  python3 scripts/adaptive-frontier.py "$T/full.jsonl" --rule "$2" --check "$T/$1" >"$T/chk" || { echo "FAIL replay of $1"; cat "$T/chk"; fail=1; }
done
python3 -c "import json,sys; assert json.loads(open(sys.argv[1]).readline())['settings']['--adaptive-margin'] > 0.09" "$T/adw.jsonl" || { echo "FAIL --adaptive-margin not recorded"; fail=1; }
"$BIN" eval $S --data $TB/test.jsonl --limit 1 --adaptive --select logprob --out "$T/x.jsonl" >/dev/null 2>"$T/err" && { echo "FAIL --adaptive with logprob accepted"; fail=1; }
# the summary's vote@8 (and the selected answers' accuracy) are the full run's
python3 -c "import json,sys; a=json.load(open(sys.argv[1])); b=json.load(open(sys.argv[2])); assert a['vote_at_k']['8']==b['vote_at_k']['8'] and a['accuracy']==b['accuracy']" "$T/full.sum" "$T/es.sum" || { echo "FAIL summary"; fail=1; }
# bon: question 3 with seed 5 stops two candidates
Q=$(sed -n 4p $TB/test.jsonl | python3 -c "import json,sys; print(json.loads(sys.stdin.read())['question'])")
"$BIN" bon $S --seed 5 -p "$Q" --json >"$T/b1.json" 2>/dev/null && "$BIN" bon $S --seed 5 -p "$Q" --json --early-stop >"$T/b2.json" 2>/dev/null || { echo "FAIL bon"; fail=1; }
python3 - "$T/b1.json" "$T/b2.json" <<'PY' || fail=1
import json, sys
a, b = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
assert a["candidates"][a["selected"]]["answer"] == b["candidates"][b["selected"]]["answer"]
assert any(c.get("stopped") for c in b["candidates"]) and not any("stopped" in c for c in a["candidates"])
PY
"$BIN" bon $S -p "x" --select logprob --early-stop >/dev/null 2>"$T/err"; rc=$?
[ $rc -eq 2 ] && grep -q "need --select vote" "$T/err" || { echo "FAIL --early-stop with logprob: rc $rc $(cat "$T/err")"; fail=1; }
[ $fail -eq 0 ] && echo "test_early_stop: ok"
exit $fail
