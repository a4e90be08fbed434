#!/usr/bin/env bash
# test_gguf_cli.sh — `slotswift info` and `slotswift gen-model` from the command line.
# Facts checked against an independent GGUF parser written here in Python (gguf_list below) and
# against the files llama.cpp's quantizer wrote (../shared/models, ../shared/testbed).
set -u
BIN=${SS_BIN:-build/slotswift}
S=../shared
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
. "$(dirname "$0")/expect.sh"   # ok / bad / expect / expect_rc, fail=0


# independent reader: prints "name type [ne0, ne1...]" per tensor, then "kv KEY VALUE" for scalars
cat >"$T/gguf_list.py" <<'PY'
import json, struct, sys
N = {0:'f32',1:'f16',2:'q4_0',3:'q4_1',6:'q5_0',7:'q5_1',8:'q8_0',12:'q4_K',13:'q5_K',14:'q6_K',30:'bf16'}
SZ = {0:'B',1:'b',2:'H',3:'h',4:'I',5:'i',6:'f',7:'B',10:'Q',11:'q',12:'d'}
f = open(sys.argv[1], 'rb')
def rd(fmt): return struct.unpack('<' + fmt, f.read(struct.calcsize('<' + fmt)))
def rstr(): n, = rd('Q'); return f.read(n).decode('utf-8', 'replace')
def val(t):
    if t == 8: return rstr()
    if t == 9:
        at, n = rd('IQ')
        return [val(at) for _ in range(n)]
    return rd(SZ[t])[0]
assert f.read(4) == b'GGUF'
ver, = rd('I'); nt, nkv = rd('QQ')
kvs = []
for _ in range(nkv):
    k = rstr(); t, = rd('I'); v = val(t)
    kvs.append((k, v))
for _ in range(nt):
    name = rstr(); nd, = rd('I'); ne = rd('Q' * nd); ty, = rd('I'); rd('Q')
    print(name, N.get(ty, str(ty)), '[' + ', '.join(map(str, ne)) + ']')
for k, v in kvs:
    if isinstance(v, list): print('kv', k, 'array', len(v))
    elif isinstance(v, str): print('kv', k, json.dumps(v))     # one line
    else: print('kv', k, v)
PY
py() { python3 "$T/gguf_list.py" "$@"; }

# ---- usage errors: exit 2
expect_rc 2 "$BIN" no-such-command
expect_rc 2 "$BIN" info
expect_rc 2 "$BIN" info --bogus "$S/models/stories260K-f32.gguf"
expect_rc 2 "$BIN" info "$S/models/stories260K-f32.gguf" "$S/models/stories260K-f16.gguf"
expect_rc 2 "$BIN" gen-model --bogus
expect_rc 2 "$BIN" gen-model --like tiny --type q4_k_s --vocab-from "$S/models/stories260K-f32.gguf" -o "$T/x.gguf"
expect_rc 2 "$BIN" gen-model --like tiny --type q8_0 --vocab-from "$S/models/stories260K-f32.gguf"
expect_rc 0 "$BIN" info --help
expect_rc 0 "$BIN" gen-model --help

# ---- info on a good model: values from ../shared/README.md
expect_rc 0 "$BIN" info "$S/models/stories260K-f32.gguf"
for want in "architecture: *llama" "n_layer: *5$" "n_embd: *64$" "n_head: *8$" "n_head_kv: *4$" "n_vocab: *512$" \
            "tensors: *48 " "output: *output.weight"; do
  grep -q "$want" "$T/out" && ok "stories260K info has '$want'" || { bad "stories260K info lacks '$want'"; cat "$T/out"; }
done
expect_rc 0 "$BIN" info "$S/models/qwen2-synth-tiny-q4_k_m.gguf"
for want in "architecture: *qwen2" "n_layer: *2$" "n_embd: *256$" "n_head: *4$" "n_head_kv: *2$" "n_vocab: *151936$" \
            "qkv bias: *yes" "tied" "base 1e+06" "chat template:"; do
  grep -q "$want" "$T/out" && ok "qwen2-synth-tiny info has '$want'" || { bad "qwen2-synth-tiny info lacks '$want'"; cat "$T/out"; }
done

# ---- info --json agrees with the independent parser (tensor count, per-type counts, parameters)
for m in "$S"/models/*.gguf "$S"/testbed/*.gguf; do
  "$BIN" info --json "$m" >"$T/info.json" 2>"$T/err" || { bad "info --json $m: $(cat "$T/err")"; continue; }
  py "$m" >"$T/list" || { bad "python parser failed on $m"; continue; }
  python3 - "$T/info.json" "$T/list" <<'PY' && ok "info --json matches the parser: $(basename "$m")" || bad "info --json mismatch: $m"
import json, sys, collections
info = json.load(open(sys.argv[1]))
tensors = [l.split(' ', 2) for l in open(sys.argv[2]) if not l.startswith('kv ')]
kv = dict(l.rstrip('\n').split(' ', 2)[1:] for l in open(sys.argv[2]) if l.startswith('kv '))
types = collections.Counter(t[1] for t in tensors)
nparams = 0
for t in tensors:
    p = 1
    for x in t[2].strip().strip('[]').split(', '): p *= int(x)
    nparams += p
arch = json.loads(kv['general.architecture'])
ok = (info['n_tensors'] == len(tensors) and info['tensor_types'] == dict(types) and info['n_params'] == nparams
      and info['architecture'] == arch
      and info['n_layer'] == int(kv[arch + '.block_count']) and info['n_embd'] == int(kv[arch + '.embedding_length'])
      and info['n_head'] == int(kv[arch + '.attention.head_count'])
      and info['n_ff'] == int(kv[arch + '.feed_forward_length']))
if not ok: print(info, dict(types), nparams, len(tensors))
sys.exit(0 if ok else 1)
PY
done

# ---- bad files: one line naming the file, exit 1
head -c 2000 "$S/models/stories260K-f32.gguf" >"$T/trunc.gguf"
expect_rc 1 "$BIN" info "$T/trunc.gguf"
grep -q "trunc.gguf" "$T/err" && [ "$(wc -l <"$T/err")" -eq 1 ] && ok "truncated: one line naming the file" || { bad "truncated message"; cat "$T/err"; }
head -c 1100000 "$S/models/stories260K-f32.gguf" >"$T/trunc2.gguf"     # header intact, data cut
expect_rc 1 "$BIN" info "$T/trunc2.gguf"
grep -q "trunc2.gguf: tensor '" "$T/err" && ok "data cut: names the tensor" || { bad "data cut message"; cat "$T/err"; }
printf 'GGUF\001\000\000\000' >"$T/v1.gguf"; head -c 64 /dev/zero >>"$T/v1.gguf"
expect_rc 1 "$BIN" info "$T/v1.gguf"
grep -q "v1.gguf: offset 4: unsupported GGUF version 1" "$T/err" && ok "version 1 refused" || { bad "version 1 message"; cat "$T/err"; }
expect_rc 1 "$BIN" info "$T/does-not-exist.gguf"
expect_rc 1 "$BIN" info "$S/tokenizers/ggml-vocab-qwen2.gguf"          # vocab only: no hyperparameters
grep -q "ggml-vocab-qwen2.gguf: qwen2.embedding_length: missing" "$T/err" && ok "vocab-only file: missing hyperparameters" || { bad "vocab-only message"; cat "$T/err"; }

# ---- gen-model tiny -> info round trip
expect_rc 0 "$BIN" gen-model --like tiny --type q4_k_m --vocab-from "$S/tokenizers/ggml-vocab-qwen2.gguf" --seed 3 -t 1 -o "$T/tiny.gguf"
expect_rc 0 "$BIN" info "$T/tiny.gguf"
for want in "architecture: *qwen2" "n_layer: *2$" "n_embd: *64$" "n_head: *4$" "n_head_kv: *2$" "n_ff: *128$" \
            "n_vocab: *151936$" "file type: *Q4_K_M (15)" "tensors: *26 " "151936 tokens" "chat template: *chatml"; do
  grep -q "$want" "$T/out" && ok "gen-model tiny info has '$want'" || { bad "gen-model tiny info lacks '$want'"; cat "$T/out"; }
done
py "$T/tiny.gguf" >"$T/list" && ok "python parser reads the generated file" || bad "python parser failed on the generated file"
# 64-wide rows are not a multiple of 256: Q4_K -> Q5_0, Q6_K -> Q8_0 (tied token_embd: Q8_0)
grep -q "^token_embd.weight q8_0 \[64, 151936\]" "$T/list" && grep -q "^blk.1.attn_v.weight q8_0" "$T/list" \
  && grep -q "^blk.0.attn_q.weight q5_0 \[64, 64\]" "$T/list" && grep -q "^blk.0.attn_q.bias f32 \[64\]" "$T/list" \
  && ok "gen-model tiny tensor types" || { bad "gen-model tiny tensor types"; cat "$T/list"; }
ls "$T" | grep -q '\.tmp' && bad "temporary file left behind" || ok "no temporary file left"

# ---- per-tensor types identical to llama-quantize's on the shared files (names, order, types, shapes)
for spec in "models/llama-synth-mini-q4_k_m.gguf q4_k_m" "models/llama-synth-mini-q5_k_m.gguf q5_k_m" \
            "models/llama-synth-mini-q4_0.gguf q4_0" "models/llama-synth-mini-bf16.gguf bf16" \
            "models/qwen2-synth-tiny-q4_k_m.gguf q4_k_m" "testbed/tinymath-q4_k_m.gguf q4_k_m" "testbed/tinymath-q8_0.gguf q8_0"; do
  set -- $spec
  "$BIN" gen-model --shape-from "$S/$1" --type "$2" --dry-run 2>"$T/err" | sed '$d' | awk '{$1=$1; print}' >"$T/mine"
  py "$S/$1" | grep -v '^kv ' >"$T/ref"
  cmp -s "$T/mine" "$T/ref" && ok "dry-run plan = llama-quantize's for $1" || { bad "plan differs for $1"; diff "$T/mine" "$T/ref" | head; }
done

# ---- real shapes: tensor counts and per-type counts derived by hand from llama.cpp's rules, and
# file sizes of the published GGUFs (Qwen2.5-0.5B-Instruct: Q4_K_M 398 MB, Q8_0 531 MB, F16 994 MB)
Q=$S/tokenizers/ggml-vocab-qwen2.gguf
plan() { "$BIN" gen-model --like "$1" --type "$2" --vocab-from "$Q" --dry-run 2>/dev/null; }
size_mb() { plan "$1" "$2" | tail -1 | sed -n 's/.* \([0-9]*\) bytes.*/\1/p' | awk '{printf "%d", $1 / 1e6 + 0.5}'; }
check_size() {
  local got; got=$(size_mb "$1" "$2")
  [ -n "$got" ] && [ $((got > $3 ? got - $3 : $3 - got)) -le $(( $3 / 100 + 1 )) ] \
    && ok "$1 $2: $got MB (published $3 MB)" || bad "$1 $2: $got MB, published $3 MB"
}
check_size qwen2.5-0.5b q4_k_m 398
check_size qwen2.5-0.5b q8_0 531
check_size qwen2.5-0.5b f16 994
check_size qwen2.5-1.5b q4_k_m 986
check_size qwen2.5-7b q4_k_m 4683
# Qwen2.5-0.5B Q4_K_M: 24 layers, use_more_bits true for 12 of them; rows of 896 are not a multiple
# of 256 (Q4_K -> Q5_0, Q6_K -> Q8_0), ffn_down rows of 4864 are.
# f32: output_norm + 5 per layer; q5_0: q,k,o,gate,up (120) + 12 attn_v; q8_0: 12 attn_v + token_embd;
# q6_K / q4_K: 12 ffn_down each
counts=$(plan qwen2.5-0.5b q4_k_m | sed '$d' | awk '{print $2}' | sort | uniq -c | awk '{printf "%s=%s ", $2, $1}')
[ "$counts" = "f32=121 q4_K=12 q5_0=132 q6_K=12 q8_0=13 " ] && ok "qwen2.5-0.5b q4_k_m type counts" || bad "qwen2.5-0.5b q4_k_m type counts: $counts"
plan qwen2.5-7b q4_k_m | grep -q "^output.weight *q6_K *\[3584, 152064\]" && ok "qwen2.5-7b: output.weight q6_K, vocab padded to 152064" || bad "qwen2.5-7b output"
plan qwen2.5-7b q4_k_m | grep -q "^token_embd.weight *q4_K *\[3584, 152064\]" && ok "qwen2.5-7b: token_embd q4_K" || bad "qwen2.5-7b token_embd"
n=$(plan llama3.2-1b q4_k_m | tail -1 | awk '{print $2}')
[ "$n" = 147 ] && ok "llama3.2-1b: 147 tensors" || bad "llama3.2-1b: $n tensors"
plan llama3.2-1b q4_k_m | grep -q "^rope_freqs.weight *f32 *\[32\]" && ok "llama3.2-1b: rope_freqs" || bad "llama3.2-1b rope_freqs"

[ $fail -eq 0 ] && echo "test_gguf_cli: all passed"
exit $fail
