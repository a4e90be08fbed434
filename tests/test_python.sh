#!/usr/bin/env bash
# test_python.sh — the Python package (python/) installed offline into a temporary venv with its
# library beside it, then its pytest suite (tests/python: results against the CLI, dump, bon, eval
# and the golden references). Uses the first python3 that has pytest and numpy: Debian's
# /usr/bin/python3 (python3-pytest, python3-numpy from scripts/install-deps.sh), else python3 on PATH.
set -u
cd "$(dirname "$0")/.."
ROOT=$PWD
BUILD=${BUILD:-build}
case "$BUILD" in /*) ABS_BUILD=$BUILD ;; *) ABS_BUILD=$ROOT/$BUILD ;; esac
PY=""
for p in /usr/bin/python3 "$(command -v python3 || true)"; do
  [ -n "$p" ] && [ -x "$p" ] && "$p" -c "import pytest, numpy, venv" 2>/dev/null && { PY=$p; break; }
done
[ -n "$PY" ] || { echo "test_python: no python3 with pytest and numpy (run scripts/install-deps.sh)"; exit 1; }
[ -e "$BUILD/libslotswift.so" ] || make -s BUILD="$BUILD" "$BUILD/libslotswift.so" || exit 1
# an ASan build of the library (make asan) loads into Python with the ASan runtime preloaded;
# Python's own allocations are not leak-checked (detect_leaks=0), the RSS test is skipped
PRELOAD=""
if nm -D "$BUILD/libslotswift.so" 2>/dev/null | grep -q __asan_init; then
  PRELOAD=$(clang -print-file-name=libclang_rt.asan-$(uname -m).so)
  [ -f "$PRELOAD" ] || { echo "test_python: ASan library but no ASan runtime ($PRELOAD)"; exit 1; }
  export ASAN_OPTIONS=detect_leaks=0 SLOTSWIFT_TEST_SANITIZER=1
fi
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
export PYTHONDONTWRITEBYTECODE=1
unset SLOTSWIFT_LIB      # the library under test is the one installed beside the package
# pip install offline: no build isolation (the venv sees Debian's setuptools and wheel), no index
mkdir -p "$T/src/slotswift"     # the package's sources only (no build outputs of an earlier pip run)
cp python/pyproject.toml python/README.md "$T/src/" && cp python/slotswift/*.py "$T/src/slotswift/" || exit 1
cp -L "$BUILD/libslotswift.so" "$T/src/slotswift/libslotswift.so"
"$PY" -m venv --system-site-packages "$T/venv" || exit 1
"$T/venv/bin/python" -m pip install -q --no-build-isolation --no-index --no-deps "$T/src" >"$T/pip.log" 2>&1 \
  || { cat "$T/pip.log"; echo "test_python: pip install failed"; exit 1; }
cd "$T"      # import the installed package (not python/ of the checkout); it loads the library beside it
LD_PRELOAD=$PRELOAD "$T/venv/bin/python" -c "import slotswift, os, sys; d = os.path.dirname(slotswift.__file__)
assert slotswift.lib_path == os.path.join(d, 'libslotswift.so') and 'site-packages' in d, slotswift.lib_path" || exit 1
LD_PRELOAD=$PRELOAD SS_BIN="$ABS_BUILD/slotswift" "$T/venv/bin/python" -m pytest -q -p no:cacheprovider "$ROOT/tests/python"
