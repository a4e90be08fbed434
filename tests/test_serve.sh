#!/usr/bin/env bash
# tests/test_serve.sh — `slotswift serve` end to end on 127.0.0.1 (free ports):
#   1. the official OpenAI Node client (tests/serve/client.mjs): chat (plain, streamed + include_usage,
#      n, logprobs), completions, models, extensions; greedy text == `slotswift generate --temp 0`,
#      best_of == `slotswift bon` with the same seed, slot == `generate --slot-steps`
#   2. malformed requests with curl: each its 4xx in OpenAI's error shape, the server keeps serving
#   3. load: K clients x M requests (tests/serve/load.mjs): one complete 200 or a 503 each, texts as
#      alone; RSS back near its level before the load
#   4. a stream dropped mid-way frees its sequence (/metrics); SIGTERM under load: exit 0
# Runs with SS_BIN (the ASan build under `make asan`).
set -u
SECONDS=0; ts() { echo "[$SECONDS s] $*"; }
cd "$(dirname "$0")/.."
BIN=${SS_BIN:-build/slotswift}
TB=../shared/testbed; MD=../shared/models
CHAT_MODEL=$TB/tinymath-f32.gguf TEXT_MODEL=$MD/stories260K-f32.gguf
KEY=sk-test-123
T=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done; wait 2>/dev/null; rm -rf "$T"; }
trap cleanup EXIT
fail=0
for m in "$CHAT_MODEL" "$TEXT_MODEL"; do [ -f "$m" ] || { echo "FAIL missing $m"; exit 1; }; done
command -v node >/dev/null && command -v curl >/dev/null || { echo "FAIL node and curl are needed (scripts/install-deps.sh)"; exit 1; }
if [ ! -d tests/serve/node_modules/openai ]; then
  (cd tests/serve && npm ci --no-audit --no-fund --loglevel=error) >"$T/npm.log" 2>&1 || { cat "$T/npm.log"; echo "FAIL npm ci in tests/serve"; exit 1; }
fi

# ---- expected outputs from the CLI (independent of the server's code paths)
Q="Max has 5 apples. He buys 3 more. How many apples does Max have now?"
E=$T/exp; mkdir -p "$E"
printf '%s' "$Q" >"$E/q.txt"
"$BIN" generate -m $CHAT_MODEL --chat -p "$Q" --temp 0 -n 48 -t 1 >"$E/greedy.txt" 2>/dev/null || { echo "FAIL generate"; exit 1; }
"$BIN" generate -m $TEXT_MODEL -p "Once upon a time" --temp 0 -n 40 -t 1 >"$E/comp.txt" 2>/dev/null || { echo "FAIL generate text"; exit 1; }
"$BIN" generate -m $CHAT_MODEL --chat -p "$Q" --temp 0 -n 48 -t 1 --slot-steps 3 --slot-lr 0.1 >"$E/slot.txt" 2>"$T/slot.err" || { echo "FAIL generate slot"; exit 1; }
sed -n 's/^slot: step [0-9]* loss //p' "$T/slot.err" >"$E/slot_losses.txt"
"$BIN" generate -m $CHAT_MODEL --chat -p "$Q" --temp 0 -n 48 -t 1 --slot-steps 3 --slot-lr 0.5 --slot-safe >"$E/slotsafe.txt" 2>/dev/null || { echo "FAIL generate slot-safe"; exit 1; }
"$BIN" bon -m $CHAT_MODEL --chat -p "$Q" -N 4 --temp 0.8 --seed 11 -n 48 -t 1 --select logprob >"$E/bon.txt" 2>/dev/null || { echo "FAIL bon"; exit 1; }
"$BIN" bon -m $CHAT_MODEL --chat -p "$Q" -N 4 --temp 0.8 --seed 11 -n 48 -t 1 --select vote >"$E/bonvote.txt" 2>/dev/null || { echo "FAIL bon vote"; exit 1; }
# adaptive with the weighted margin: seed 40 all 4 run and the weighted vote picks another answer than
# the vote; gamma 20, margin 0.22 stops after the first wave of 2
for m in "0.25 24" "0.22 20"; do set -- $m
  "$BIN" bon -m $CHAT_MODEL --chat -p "$Q" -N 4 --temp 0.8 --seed 40 -n 48 -t 1 --select vote --adaptive-wave 2 \
    --adaptive-margin $1 --adaptive-gamma $2 --json >"$E/bonmargin-$1-$2.json" 2>/dev/null || { echo "FAIL bon adaptive-margin"; exit 1; }
done
# a SWIFT head for this model (tiny training run, as tests/test_tinymath.sh) (short answers: some wrong, a store of one label is refused)
"$BIN" swift-collect -m $CHAT_MODEL --data $TB/swift_train.jsonl --chat -N 2 --temp 0.8 --seed 3 -n 14 -t 1 --limit 6 \
  --swift-layers last2 --out "$T/feat" >/dev/null 2>&1 && "$BIN" swift-train --in "$T/feat" --out "$T/head.gguf" --epochs 2 --val 0 -q >/dev/null 2>&1 \
  || { echo "FAIL swift head"; exit 1; }
"$BIN" bon -m $CHAT_MODEL --chat -p "$Q" -N 3 --temp 0.8 --seed 11 -n 48 -t 1 --swift "$T/head.gguf" >"$E/bonswift.txt" 2>/dev/null || { echo "FAIL bon swift"; exit 1; }

# start NAME ARGS...: a server on a free port; sets URL_NAME and PID_NAME
start() {
  local name=$1; shift
  "$BIN" serve --port 0 -t 1 "$@" >"$T/$name.out" 2>"$T/$name.err" &
  local pid=$!; pids+=("$pid")
  for _ in $(seq 300); do
    grep -q "listening on" "$T/$name.out" 2>/dev/null && break
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  local port; port=$(sed -n 's/.*listening on http:\/\/127.0.0.1:\([0-9]*\) .*/\1/p' "$T/$name.out")
  [ -n "$port" ] || { cat "$T/$name.err"; echo "FAIL server $name did not start"; exit 1; }
  printf -v "URL_$name" 'http://127.0.0.1:%s' "$port"
  printf -v "PID_$name" '%s' "$pid"
}
start A -m $CHAT_MODEL -c 2048 --parallel 4 --queue 2 --api-key $KEY --max-body 65536 --swift h="$T/head.gguf"
start B -m $TEXT_MODEL -c 512 --parallel 4
start C -m $TEXT_MODEL -c 512 --timeout 0.001 --log json
ts "servers: A $URL_A (tinymath, key), B $URL_B (stories260K)"

# ---- 1. the OpenAI client
ts client
if SS_CHAT_URL=$URL_A/v1 SS_TEXT_URL=$URL_B/v1 SS_KEY=$KEY SS_EXP=$E timeout 60 node tests/serve/client.mjs >"$T/client.log" 2>&1; then
  tail -1 "$T/client.log"
else cat "$T/client.log"; echo "FAIL openai client"; fail=1; fi

ts malformed
# ---- 2. malformed requests: expect STATUS, an OpenAI-shaped error, the server still up
nbad=0
# bad STATUS DESC URL_PATH BODY [curl args...]  (the error shapes are checked together below)
bad() {
  local want=$1 desc=$2 path=$3 body=$4; shift 4
  local code s0=$SECONDS
  code=$(curl -s -o "$T/bad$nbad.json" -w '%{http_code}' -H "${AUTH-Authorization: Bearer $KEY}" -H 'Content-Type: application/json' \
         --data-binary "$body" "$@" "$URL_A$path")
  if [ "$code" != "$want" ]; then echo "FAIL malformed '$desc': status $code, expected $want: $(head -c 300 "$T/bad$nbad.json")"; fail=1; fi
  [ $((SECONDS - s0)) -le 2 ] || { echo "FAIL malformed '$desc': took $((SECONDS - s0)) s"; fail=1; }
  printf '%s\n' "$desc" >>"$T/bad.names"
  nbad=$((nbad + 1))
}
C=/v1/chat/completions P=/v1/completions
M='"messages":[{"role":"user","content":"hi"}]'
bad 400 "bad JSON"                 $C '{"messages":'
bad 400 "not an object"            $C '[1,2,3]'
bad 400 "empty body"               $C ''
bad 400 "missing messages"         $C '{"model":"x"}'
bad 400 "messages not an array"    $C '{"messages":"hi"}'
bad 400 "messages empty"           $C '{"messages":[]}'
bad 400 "message without role"     $C '{"messages":[{"content":"hi"}]}'
bad 400 "unknown role"             $C '{"messages":[{"role":"wizard","content":"hi"}]}'
bad 400 "content a number"         $C '{"messages":[{"role":"user","content":5}]}'
bad 400 "assistant first"          $C '{"messages":[{"role":"assistant","content":"hi"}]}'
bad 400 "model not a string"       $C "{$M,\"model\":5}"
bad 400 "n: 0"                     $C "{$M,\"n\":0}"
bad 400 "n: 100000"                $C "{$M,\"n\":100000}"
bad 400 "n a string"               $C "{$M,\"n\":\"3\"}"
bad 400 "negative max_tokens"      $C "{$M,\"max_tokens\":-5}"
bad 400 "fractional max_tokens"    $C "{$M,\"max_tokens\":1.5}"
bad 400 "max_tokens over the KV"   $C "{$M,\"max_tokens\":100000,\"best_of\":4}"
bad 400 "temperature a string"     $C "{$M,\"temperature\":\"hot\"}"
bad 400 "temperature 5"            $C "{$M,\"temperature\":5}"
bad 400 "top_p 0"                  $C "{$M,\"top_p\":0}"
bad 400 "presence_penalty 3"       $C "{$M,\"presence_penalty\":3}"
bad 400 "seed -1"                  $C "{$M,\"seed\":-1}"
bad 400 "stop a number"            $C "{$M,\"stop\":5}"
bad 400 "stop array with a number" $C "{$M,\"stop\":[\"a\",1]}"
bad 400 "stream a string"          $C "{$M,\"stream\":\"yes\"}"
bad 400 "stream_options w/o stream" $C "{$M,\"stream_options\":{\"include_usage\":true}}"
bad 400 "logprobs a string"        $C "{$M,\"logprobs\":\"x\"}"
bad 400 "top_logprobs 50"          $C "{$M,\"logprobs\":true,\"top_logprobs\":50}"
bad 400 "top_logprobs w/o logprobs" $C "{$M,\"top_logprobs\":2}"
bad 400 "user a number"            $C "{$M,\"user\":7}"
bad 400 "invalid UTF-8"            $C "$(printf '{"messages":[{"role":"user","content":"\xff\xfe"}]}')"
bad 400 "unknown swift_head"       $C "{$M,\"best_of\":2,\"swift_head\":\"nope\"}"
bad 400 "best_of with stream"      $C "{$M,\"best_of\":2,\"stream\":true}"
bad 400 "best_of below n"          $C "{$M,\"best_of\":2,\"n\":3}"
bad 400 "best_of over --parallel"  $C "{$M,\"best_of\":64}"
bad 400 "unknown select"           $C "{$M,\"best_of\":2,\"select\":\"magic\"}"
bad 400 "select swift w/o head"    $C "{$M,\"best_of\":2,\"select\":\"swift\"}"
bad 400 "select w/o best_of"       $C "{$M,\"select\":\"vote\"}"
bad 400 "slot not an object"       $C "{$M,\"slot\":3}"
bad 400 "slot.steps -1"            $C "{$M,\"slot\":{\"steps\":-1}}"
bad 400 "slot unknown field"       $C "{$M,\"slot\":{\"stepz\":2}}"
bad 400 "slot.span bad"            $C "{$M,\"slot\":{\"steps\":1,\"span\":\"some\"}}"
bad 400 "completions: no prompt"   $P '{"max_tokens":3}'
bad 400 "completions: prompt a number" $P '{"prompt":5}'
bad 400 "completions: logprobs bool" $P '{"prompt":"a","logprobs":true}'
bad 400 "prompt over the context"  $P "{\"prompt\":\"$(python3 -c "print('one two three four ' * 600)")\"}"
bad 413 "body over --max-body"     $C "{$M,\"user\":\"$(head -c 70000 /dev/zero | tr '\0' a)\"}"
AUTH='X-None: 1' bad 401 "missing key" /v1/models '' -X GET
AUTH='Authorization: Bearer sk-wrong' bad 401 "wrong key" $C "{$M}"
AUTH="Authorization: $KEY" bad 401 "key without Bearer" $C "{$M}"
bad 404 "unknown endpoint"         /v1/engines '{}'
bad 405 "wrong method"             $C '' -X GET
bad 400 "tokenize: no content"     /tokenize '{"text":"a"}'
bad 400 "detokenize: bad id"       /detokenize '{"tokens":[1,99999999]}'
python3 - "$T" "$nbad" <<'PY' || fail=1
import json, sys
T, n = sys.argv[1], int(sys.argv[2])
names = open(f"{T}/bad.names").read().split("\n")
bad = 0
for i in range(n):
    try:
        e = json.load(open(f"{T}/bad{i}.json"))["error"]
        assert isinstance(e["message"], str) and e["message"] and isinstance(e["type"], str) and "param" in e and "code" in e
    except Exception as x:
        print(f"FAIL malformed '{names[i]}': not an OpenAI error ({x!r})"); bad += 1
sys.exit(1 if bad else 0)
PY
echo "malformed: $nbad requests answered with their 4xx and an OpenAI error"
[ "$nbad" -ge 30 ] || { echo "FAIL fewer than 30 malformed requests passed"; fail=1; }
# still serving, /health needs no key, tokenize round trip
h=$(curl -s -o /dev/null -w '%{http_code}' "$URL_A/health"); [ "$h" = 200 ] || { echo "FAIL /health after malformed: $h"; fail=1; }
tk=$(curl -s -H "Authorization: Bearer $KEY" "$URL_A/tokenize" -d '{"content":"What is 2+3?"}')
dt=$(curl -s -H "Authorization: Bearer $KEY" "$URL_A/detokenize" -d "$tk")
[ "$dt" = '{"content":"What is 2+3?"}' ] || { echo "FAIL tokenize/detokenize round trip: $tk -> $dt"; fail=1; }

ts load
# --timeout: 408 when it ends before any token, else finish_reason length before max_tokens
curl -s -o "$T/to.json" -w '%{http_code}' "$URL_C/v1/completions" -d '{"prompt":"Once","max_tokens":500,"ignore_eos":true}' >"$T/to.code"
python3 - "$T" <<'PY' || { echo "FAIL --timeout: $(cat "$T/to.code") $(head -c 300 "$T/to.json")"; fail=1; }
import json, sys
T = sys.argv[1]
code, r = open(f"{T}/to.code").read(), json.load(open(f"{T}/to.json"))
if code == "408": assert r["error"]["code"] == "timeout"
else: assert code == "200" and r["choices"][0]["finish_reason"] == "length" and r["usage"]["completion_tokens"] < 500, r
print(f"--timeout 0.001: {code}" + ("" if code == "408" else f", {r['usage']['completion_tokens']} token(s), finish_reason length"))
PY
grep -q '"status":' "$T/C.err" || { echo "FAIL --log json: no JSON log line"; fail=1; }

# ---- 3. load (RSS before and after) and 4. disconnect
rss() { awk '/^VmRSS/ {print $2}' /proc/$PID_A/status; }
rss0=$(rss)
if timeout 60 node tests/serve/load.mjs "$URL_A" $KEY load 4 5 >"$T/load.log" 2>&1; then cat "$T/load.log"; else cat "$T/load.log"; echo "FAIL load"; fail=1; fi
rss1=$(rss)
echo "RSS: $((rss0 / 1024)) MB before the load, $((rss1 / 1024)) MB after"
[ "$rss1" -le $((rss0 + 16384)) ] || { echo "FAIL RSS grew by $(((rss1 - rss0) / 1024)) MB under load"; fail=1; }
if timeout 30 node tests/serve/load.mjs "$URL_A" $KEY disconnect >"$T/disc.log" 2>&1; then cat "$T/disc.log"; else cat "$T/disc.log"; echo "FAIL disconnect"; fail=1; fi
grep -q ' 499 ' "$T/A.err" || { echo "FAIL the dropped stream is not logged as 499"; fail=1; }
# every request logged on one line
nlog=$(grep -c ' req=' "$T/A.err"); [ "$nlog" -ge 80 ] || { echo "FAIL only $nlog request log lines"; fail=1; }

ts sigterm
# ---- SIGTERM under load: clean exit 0, every client answered or refused
cpids=()
for k in 1 2 3 4 5 6; do
  curl -s -o "$T/term$k.json" -w '%{http_code}' -H "Authorization: Bearer $KEY" "$URL_A/v1/chat/completions" \
    -d "{$M,\"max_tokens\":200,\"seed\":$k}" >"$T/term$k.code" 2>/dev/null &
  cpids+=($!)
done
sleep 0.3
kill -TERM "$PID_A"
t0=$(date +%s)
wait "$PID_A"; rc=$?
[ $rc -eq 0 ] && echo "SIGTERM under load: exit 0 after $(( $(date +%s) - t0 )) s" || { echo "FAIL SIGTERM: exit $rc"; tail -5 "$T/A.err"; fail=1; }
wait "${cpids[@]}"
for k in 1 2 3 4 5 6; do
  c=$(cat "$T/term$k.code")
  case "$c" in 200|503|000) ;; *) echo "FAIL SIGTERM: a client got $c"; fail=1 ;; esac
done
exit $fail
