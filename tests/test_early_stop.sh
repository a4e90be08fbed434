#!/usr/bin/env bash
# test_early_stop.sh — exact early stop of the vote (`--early-stop`) on the tinymath testbed: eval
# with and without it on the first 7 test problems (N 8, T 0.8) selects the same answer on every
# question; some candidates are stopped (marked "stopped": true, no answer), never more tokens are
# generated; the candidates that were not stopped are identical to the full run's (same seeds).
# Also bon --json with/without, and the flag refused without --select vote.
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
# adaptive sampling (waves of 4, agreement 0.75): the started candidates are the full run's first
# ones (same seeds), a question stops after a wave only when 3 of its 4 (or more) agree
"$BIN" eval $S --data $TB/test.jsonl --limit 7 --adaptive --out "$T/ad.jsonl" >"$T/ad.sum" 2>"$T/err" || { echo "FAIL eval --adaptive"; tail -3 "$T/err"; exit 1; }
python3 - "$T/full.jsonl" "$T/ad.jsonl" <<'PY' || fail=1
import collections, json, sys
full = [json.loads(l) for l in open(sys.argv[1])][1:]
ad = [json.loads(l) for l in open(sys.argv[2])][1:]
waves = 0
for a, b in zip(full, ad):
    started = [c for c in b["candidates"] if not c.get("stopped")]
    n = len(started)
    assert n in (4, 8) and all(c.get("stopped") and c["tokens"] == 0 for c in b["candidates"][n:])
    for ca, cb in zip(a["candidates"], started):
        assert ca["text"] == cb["text"] and ca["answer"] == cb["answer"]
    votes = collections.Counter(c["answer"] for c in started[:4] if c["answer"] is not None)
    lead = max(votes.values()) if votes else 0
    assert (n == 4) == (lead >= 3), (b["index"], n, votes)
    waves += n == 4
assert waves > 0
print(f"adaptive: {waves} of 7 questions stopped after the first wave, candidates as the full run's")
PY
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
