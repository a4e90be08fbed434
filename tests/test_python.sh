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
if nm -D "$BUILD/libslotswift.so" 2>/dev/null | grep -q __asan_init; then
  echo "test_python: skipped for the sanitizer build (the Python interpreter cannot load an ASan library)"
  exit 0
fi
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
export PYTHONDONTWRITEBYTECODE=1
# pip install offline: no build isolation (the venv sees Debian's setuptools and wheel), no index
cp -r python "$T/src"
cp -L "$BUILD/libslotswift.so" "$T/src/slotswift/libslotswift.so"
"$PY" -m venv --system-site-packages "$T/venv" || exit 1
"$T/venv/bin/python" -m pip install -q --no-build-isolation --no-index --no-deps "$T/src" >"$T/pip.log" 2>&1 \
  || { cat "$T/pip.log"; echo "test_python: pip install failed"; exit 1; }
cd "$T"      # import the installed package (not python/ of the checkout); it loads the library beside it
"$T/venv/bin/python" -c "import slotswift, os, sys; d = os.path.dirname(slotswift.__file__)
assert slotswift.lib_path == os.path.join(d, 'libslotswift.so') and 'site-packages' in d, slotswift.lib_path" || exit 1
SS_BIN="$ABS_BUILD/slotswift" "$T/venv/bin/python" -m pytest -q -p no:cacheprovider "$ROOT/tests/python"
