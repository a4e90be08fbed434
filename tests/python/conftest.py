"""Shared fixtures of the Python package tests: models from ../shared, the CLI (build/slotswift)
to compare with, and the golden references of an independent engine (../shared/golden)."""
import json
import os
import subprocess

import pytest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), os.pardir, os.pardir))
SHARED = os.path.join(ROOT, os.pardir, "shared")
BUILD = os.environ.get("BUILD", "build")
BIN = os.environ.get("SS_BIN", os.path.join(ROOT, BUILD, "slotswift"))
if not os.path.isabs(BIN):
    BIN = os.path.join(ROOT, BIN)
STORIES = os.path.join(SHARED, "models", "stories260K-f32.gguf")
TINYMATH = os.path.join(SHARED, "testbed", "tinymath-f32.gguf")
TINYMATH_Q4 = os.path.join(SHARED, "testbed", "tinymath-q4_k_m.gguf")
GOLDEN = os.path.join(SHARED, "golden")


# programs other than Python run without the sanitizer runtime the ASan build preloads for Python
PLAIN_ENV = {k: v for k, v in os.environ.items() if k != "LD_PRELOAD"}


def cli(*args, check=True):
    """Run the CLI; (stdout, stderr) as text."""
    p = subprocess.run([BIN, *[str(a) for a in args]], capture_output=True, env=PLAIN_ENV)
    if check and p.returncode != 0:
        raise AssertionError(f"slotswift {' '.join(map(str, args))} failed: {p.stderr.decode(errors='replace')}")
    return p.stdout.decode("utf-8", "replace"), p.stderr.decode("utf-8", "replace")


def golden(name):
    with open(os.path.join(GOLDEN, name)) as f:
        return json.load(f)


def golden_prompt(name):
    with open(os.path.join(GOLDEN, "prompts", name + ".txt"), encoding="utf-8") as f:
        return f.read()


def question_file(data="swift_train.jsonl"):
    return os.path.join(SHARED, "testbed", data)


def question(i, data="test.jsonl"):
    with open(os.path.join(SHARED, "testbed", data)) as f:
        for k, line in enumerate(f):
            if k == i:
                return json.loads(line)


@pytest.fixture(scope="session")
def slotswift():
    import slotswift as s
    return s


@pytest.fixture(scope="session")
def stories(slotswift):
    with slotswift.Model(STORIES, threads=2) as m:
        yield m


@pytest.fixture(scope="session")
def tinymath(slotswift):
    with slotswift.Model(TINYMATH, threads=2) as m:
        yield m
