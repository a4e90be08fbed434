#!/usr/bin/env bash
# Install the Debian packages slotswift builds and tests with (run as root or with sudo).
#   build-essential          gcc, make
#   pkgconf                  pkg-config: tests build examples/ against the installed library
#   libpcre2-dev             PCRE2: the pre-tokenizer regexes (Unicode classes) of byte-level BPE
#   libcjson-dev             cJSON: JSON in the tools (datasets, results, golden files)
#   libcmocka-dev            cmocka: the unit-test framework
#   clang libclang-rt-14-dev the ASan+UBSan test build and the libFuzzer targets
#   python3-jinja2           the tests render chat templates with Jinja as an independent reference
#   libmicrohttpd-dev        HTTP for `slotswift serve`
#   openmpi-bin libopenmpi-dev  Open MPI (mpirun, mpicc): eval / swift-collect / swift-train over
#                            several processes or machines (the Makefile builds with MPI when mpicc is found)
#   nodejs npm curl          the serve tests: the real `openai` npm client (tests/serve) and curl
#   python3-pytest python3-numpy  the Python package's tests (tests/python, numpy for its arrays)
#   python3-venv python3-pip python3-setuptools python3-wheel  installing the package offline
#                            (pip install --no-build-isolation ./python in a venv)
set -euo pipefail
need="build-essential pkgconf libpcre2-dev libcjson-dev libcmocka-dev clang libclang-rt-14-dev python3-jinja2 libmicrohttpd-dev openmpi-bin libopenmpi-dev curl python3-pytest python3-numpy python3-venv python3-pip python3-setuptools python3-wheel"
missing=""
for p in $need; do dpkg -s "$p" >/dev/null 2>&1 || missing="$missing $p"; done
# Node.js and npm: Debian's packages unless a node with npm is already there (e.g. NodeSource's, which bundles npm)
command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1 || missing="$missing nodejs npm"
if [ -n "$missing" ]; then
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO=sudo
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq $missing >/dev/null
fi
# the official OpenAI client for the serve tests (tests/serve/package-lock.json pins it)
cd "$(dirname "$0")/../tests/serve"
[ -d node_modules/openai ] || npm ci --no-audit --no-fund --loglevel=error
