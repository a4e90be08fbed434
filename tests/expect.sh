# expect.sh — helpers of the shell tests, sourced after $T (the test's temp dir) is set:
# ok / bad (sets fail=1), expect CODE PATTERN CMD..., expect_rc CODE CMD..., same FILE FILE WHAT, and
# DEVFULL / DEVNULL.
# the devices the refusal tests write to: nodes of our own under $T when we may create them (as
# root, a bug would otherwise replace the system's /dev/full), else the system's (not writable)
DEVFULL=$T/full; DEVNULL=$T/null
mknod -m 666 "$DEVFULL" c 1 7 2>/dev/null && mknod -m 666 "$DEVNULL" c 1 3 2>/dev/null || { DEVFULL=/dev/full; DEVNULL=/dev/null; }
fail=0
ok()  { echo "ok   $*"; }
bad() { echo "FAIL $*"; fail=1; }
# expect CODE PATTERN CMD...: exit code CODE; for errors one line on stderr matching PATTERN
expect() {
  local want=$1 pat=$2; shift 2
  "$@" >"$T/out" 2>"$T/err"; local rc=$?
  if [ $rc -ne "$want" ]; then bad "'$*' exited $rc, want $want: $(tail -2 "$T/err")"; return; fi
  if [ -n "$pat" ]; then
    if ! grep -q -- "$pat" "$T/err"; then bad "'$*': message lacks '$pat': $(cat "$T/err")"; return; fi
    if [ "$want" -ne 0 ] && [ "$(grep -vc '^$' "$T/err")" -ne 1 ]; then bad "'$*': error is not one line: $(cat "$T/err")"; return; fi
  fi
  ok "exit $want${pat:+, '$pat'}: ${*:2:6}"
}
same() { cmp -s "$1" "$2" && ok "$3" || bad "$3"; }
# expect_rc CODE CMD...: exit code CODE (within 120 s); stdout, stderr kept in $T/out, $T/err
expect_rc() {
  local want=$1; shift
  timeout 120 "$@" >"$T/out" 2>"$T/err"; local rc=$?
  if [ "$rc" -eq "$want" ]; then ok "exit $rc: $*"; else bad "exit $rc (want $want): $*"; head -5 "$T/err"; fi
}
