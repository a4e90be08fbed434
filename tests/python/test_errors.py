"""Bad input raises slotswift.Error with the library's one-line message; 1,000 load/free cycles
keep the resident memory flat."""
import os
import subprocess
import sys

import numpy as np
import pytest

from conftest import STORIES, TINYMATH


def test_bad_paths(slotswift, tmp_path):
    with pytest.raises(slotswift.Error, match="nonexistent.gguf"):
        slotswift.Model(str(tmp_path / "nonexistent.gguf"))
    junk = tmp_path / "junk.gguf"
    junk.write_bytes(b"not a gguf file at all" * 10)
    with pytest.raises(slotswift.Error, match="junk.gguf") as e:
        slotswift.Model(str(junk))
    assert "\n" not in str(e.value)
    with pytest.raises(slotswift.Error, match="missing.gguf"):
        slotswift.Head.load(str(tmp_path / "missing.gguf"))
    with pytest.raises(slotswift.Error):
        slotswift.Head.load(STORIES)            # a model is not a head file
    with pytest.raises(slotswift.Error):
        slotswift.Model(None)


def test_bad_arguments(slotswift, stories, tinymath, tmp_path):
    E = slotswift.Error
    bad = [
        lambda: slotswift.Model(STORIES, n_ctx=-1),
        lambda: slotswift.Model(STORIES, threads="x"),
        lambda: stories.generate("Once", temperature=-1),
        lambda: stories.generate("Once", top_p=2),
        lambda: stories.generate("Once", seed=-1),
        lambda: stories.generate("Once", max_tokens=-5),
        lambda: stories.generate("Once", temprature=0.5),              # misspelt keyword
        lambda: stories.generate("Once", stop=[""]),
        lambda: stories.generate("Once", slot=dict(steps=2, learning_rate=0.1)),
        lambda: stories.generate("Once", slot=dict(steps=-1)),
        lambda: stories.generate("Once", slot=3),
        lambda: stories.generate([1, 2, 99999]),                        # token out of the vocabulary
        lambda: stories.generate([]),
        lambda: stories.generate("word " * 400),                        # longer than the context
        lambda: stories.best_of("Once", n=0),
        lambda: stories.best_of("Once", n=2, select="best"),
        lambda: stories.best_of("Once", n=2, select="swift"),           # no head
        lambda: stories.hidden_states("Once", layers=[stories.n_layer + 1]),
        lambda: stories.hidden_states("Once", layers=[]),
        lambda: stories.detokenize([-1]),
        lambda: stories.tokenize(b"bytes"),
        lambda: tinymath.chat_prompt([{"role": "assistant", "content": "x"}]),
        lambda: tinymath.chat_prompt([{"role": "user"}]),
        lambda: tinymath.chat_prompt([{"role": "user", "content": "x"}], template="nope"),
        lambda: stories.chat_prompt([{"role": "user", "content": "x"}]),   # no chat template
        lambda: slotswift.Head.save(str(tmp_path / "h.gguf"), np.zeros((2, 5)), [0, 0], model=stories, layers="last1"),
        lambda: slotswift.Head.save(str(tmp_path / "h.gguf"), np.zeros((2, 64)), [0, 0], model=stories, layers="last9"),
        lambda: slotswift.Head.save(str(tmp_path / "nodir" / "h.gguf"), np.zeros((2, 64)), [0, 0], model=stories, layers="last1"),
        lambda: slotswift.Head.save(str(tmp_path / "h.gguf"), np.zeros((64, 2)), [0, 0], model=stories, layers="last1"),
        lambda: slotswift.Head.save(str(tmp_path / "h.gguf"), [[0] * 64, [0] * 63], [0, 0], model=stories, layers="last1"),
        lambda: slotswift.Head.save(str(tmp_path / "h.gguf"), np.zeros((2, 64)), [0, 0, 0], model=stories, layers="last1"),
    ]
    for i, f in enumerate(bad):
        with pytest.raises(E) as e:
            f()
        msg = str(e.value)
        assert msg and "\n" not in msg, (i, msg)
    # a head written for one model is refused by another, naming both
    h = tmp_path / "stories-head.gguf"
    slotswift.Head.save(str(h), np.zeros((2, stories.n_embd)), [0, 0], model=stories, layers="last1")
    with pytest.raises(E, match="stories|tinymath"):
        tinymath.best_of("Tom has 3 apples.", n=2, head=str(h), max_tokens=4)
    # after errors the models still work
    assert stories.generate("Once", max_tokens=3, seed=1).tokens
    assert not os.path.exists(tmp_path / "h.gguf")


def test_close_during_stream(slotswift):
    m = slotswift.Model(STORIES, threads=1)
    s = m.stream("Once upon a time", max_tokens=40, seed=1)
    next(s)
    m.close()
    with pytest.raises(slotswift.Error, match="closed"):
        list(s)
    with pytest.raises(slotswift.Error, match="closed"):
        m.generate("Once")


def test_library_not_found(tmp_path):
    p = subprocess.run([sys.executable, "-c", "import slotswift"], capture_output=True, text=True,
                       env=dict(os.environ, SLOTSWIFT_LIB=str(tmp_path / "libnone.so"),
                                PYTHONPATH=os.pathsep.join(sys.path)))
    last = p.stderr.splitlines()[-1]
    assert p.returncode != 0 and last.startswith("slotswift._lib.Error: ") and "libnone.so" in last


def rss_kb():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") // 1024


@pytest.mark.skipif(os.environ.get("SLOTSWIFT_TEST_SANITIZER") == "1",
                    reason="ASan keeps freed memory in quarantine (its own leak checks cover the library)")
def test_load_free_cycles_keep_rss_flat(slotswift):
    def cycle(n):
        for _ in range(n):
            with slotswift.Model(STORIES, threads=1) as m:
                assert m.n_layer == 5
    cycle(50)                                   # warm up allocator arenas
    before = rss_kb()
    cycle(1000)
    grown = rss_kb() - before
    # one model + context is ~1.5 MB: a leak of even 1% per cycle would show as > 10 MB
    assert grown < 2048, f"RSS grew by {grown} kB over 1000 load/free cycles"
