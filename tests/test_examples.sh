#!/usr/bin/env bash
# test_examples.sh — the library as a user gets it: `make install PREFIX=<tmp>` (header, static and
# shared library, slotswift.pc), examples/simple.c built against the installed copy with
# `pkg-config --cflags --libs slotswift` (shared, and static with --static), run on stories260K;
# its greedy text must equal `slotswift generate --temp 0` for the same prompt and length; and
# examples/best_of.c (the generation API: N candidates, SLOT, streaming, selection) must print the
# text `slotswift bon` selects for the same arguments.
# Also: the shared library exports exactly the SS_API functions of include/slotswift.h.
set -u
cd "$(dirname "$0")/.."
BIN=${SS_BIN:-build/slotswift}
ST=../shared/models/stories260K-f32.gguf
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
. "$(dirname "$0")/expect.sh"   # ok / bad / expect / expect_rc, fail=0

# install the build the tests run on (BUILD, NO_AVX2 as given), except a sanitizer build: then the
# regular one in build/ (the example is linked without the sanitizer runtime)
unset MAKEFLAGS MFLAGS MAKELEVEL
P=$T/prefix
install_vars=()
if nm "$BIN" 2>/dev/null | grep -q __asan_init; then install_vars=(BUILD=build CC=cc OPT="-O2 -g" NO_AVX2=0); fi
if make -s install PREFIX="$P" "${install_vars[@]}" >"$T/make.log" 2>&1; then ok "make install PREFIX=..."; else bad "make install"; tail -5 "$T/make.log"; fi
for f in include/slotswift.h lib/libslotswift.a lib/libslotswift.so lib/pkgconfig/slotswift.pc; do
  [ -e "$P/$f" ] && ok "installed $f" || bad "missing $P/$f"
done
export PKG_CONFIG_PATH=$P/lib/pkgconfig
grep -q '^Requires.private: libpcre2-8' "$P/lib/pkgconfig/slotswift.pc" && ok "slotswift.pc lists PCRE2" || bad "slotswift.pc: no PCRE2"
grep -q "^prefix=$P\$" "$P/lib/pkgconfig/slotswift.pc" && ok "slotswift.pc prefix" || bad "slotswift.pc prefix"

# exported symbols = the header's SS_API functions
grep -oE '^SS_API [^(]*\(' include/slotswift.h | sed -E 's/.*[ *]([a-z_0-9]+)\($/\1/' | sort -u >"$T/api"
nm -D --defined-only "$P/lib/libslotswift.so" | awk '{print $3}' | sort -u >"$T/exported"
if cmp -s "$T/api" "$T/exported"; then ok "libslotswift.so exports the $(wc -l <"$T/api") SS_API functions only"
else bad "exported symbols differ from the header's SS_API functions"; diff "$T/api" "$T/exported" | head; fi

# build the example both ways
if cc -std=c11 -Wall -Werror examples/simple.c $(pkg-config --cflags --libs slotswift) -o "$T/simple_shared" 2>"$T/cc.log"
then ok "examples/simple.c against the shared library"; else bad "build (shared)"; head -5 "$T/cc.log"; fi
libs=$(pkg-config --static --libs slotswift)
if cc -std=c11 -Wall -Werror examples/simple.c $(pkg-config --cflags slotswift) -o "$T/simple_static" \
     ${libs/-lslotswift/-Wl,-Bstatic -lslotswift -Wl,-Bdynamic} 2>"$T/cc.log"
then ok "examples/simple.c against the static library"; else bad "build (static)"; head -5 "$T/cc.log"; fi
LD_LIBRARY_PATH=$P/lib ldd "$T/simple_shared" | grep -q "libslotswift.so.1 => $P/lib/" && ok "shared example loads the installed .so" || bad "shared example: libslotswift.so not from PREFIX"
ldd "$T/simple_static" | grep -q libslotswift && bad "static example needs libslotswift.so" || ok "static example is self-contained"

# same text as the CLI (greedy)
for prompt in "Once upon a time" "The little dog"; do
  want=$("$BIN" generate -m "$ST" -p "$prompt" -n 40 --temp 0 2>/dev/null)
  for kind in shared static; do
    got=$(LD_LIBRARY_PATH=$P/lib timeout 60 "$T/simple_$kind" "$ST" "$prompt" 40)
    if [ -n "$want" ] && [ "$got" == "$want" ]; then ok "simple ($kind) = generate --temp 0: '$prompt'"
    else bad "simple ($kind) '$prompt': got '$got', want '$want'"; fi
  done
done
# Best-of-N through ss_gen_run: the text bon selects (vote, logprob; with SLOT)
if cc -std=c11 -Wall -Werror examples/best_of.c $(pkg-config --cflags --libs slotswift) -lm -o "$T/best_of" 2>"$T/cc.log"
then ok "examples/best_of.c against the shared library"; else bad "build best_of"; head -5 "$T/cc.log"; fi
for args in "4 24 5 vote" "3 30 9 logprob" "4 24 5 logprob 2"; do
  set -- $args
  want=$("$BIN" bon -m "$ST" -p "Once upon a time" -N "$1" -n "$2" --seed "$3" --select "$4" ${5:+--slot-steps $5} 2>/dev/null)
  got=$(LD_LIBRARY_PATH=$P/lib timeout 60 "$T/best_of" "$ST" "Once upon a time" $args 2>"$T/stream")
  if [ -n "$want" ] && [ "$got" == "$want" ]; then ok "best_of = bon: N $1, n $2, seed $3, $4${5:+, SLOT $5 steps}"
  else bad "best_of $args: got '$got', want '$want'"; fi
  # candidate 0 streamed to stderr by the per-token callback: its text is in the stream
  [ -n "$(head -1 "$T/stream")" ] && ok "best_of streams candidate 0" || bad "best_of: nothing streamed"
done
LD_LIBRARY_PATH=$P/lib "$T/simple_shared" /nonexistent.gguf hi 2>"$T/err" >/dev/null
[ $? -eq 1 ] && [ "$(wc -l <"$T/err")" -eq 1 ] && ok "missing model: exit 1, one line" || bad "missing model: $(cat "$T/err")"
exit $fail
