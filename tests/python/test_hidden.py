"""hidden_states(): HF numbering (0 = embeddings, n_layer = final normed state); the final state
equals `slotswift dump --hidden` bit for bit and llama.cpp's (../shared/golden) within float
tolerance; numpy or lists."""
import json
import os
import subprocess
import sys

import numpy as np
import pytest

from conftest import GOLDEN, ROOT, STORIES, TINYMATH, cli, golden, golden_prompt


@pytest.mark.parametrize("model,name", [(STORIES, "stories260K-f32.story2"), (TINYMATH, "tinymath-f32.tinymath_q1")])
def test_final_state_equals_dump_and_golden(slotswift, stories, tinymath, model, name):
    m = stories if model == STORIES else tinymath
    pfile = os.path.join(GOLDEN, "prompts", name.split(".")[1] + ".txt")
    hs = m.hidden_states(golden_prompt(name.split(".")[1]))
    T = len(m.tokenize(golden_prompt(name.split(".")[1]), special=True))
    assert isinstance(hs, np.ndarray) and hs.dtype == np.float32
    assert hs.shape == (m.n_layer + 1, T, m.n_embd)
    out, _ = cli("dump", "-m", model, "-f", pfile, "--hidden", "-n", 1, "-t", 2)
    dump = np.array(json.loads(out)["hidden"], dtype=np.float32)
    assert np.array_equal(hs[m.n_layer], dump)                  # %.9g round-trips float32
    ref = np.array(golden(name + ".json")["hidden"])
    assert np.abs(hs[m.n_layer] - ref).max() <= 1e-4 * np.abs(ref).max()
    # one layer as an int: [T, D]; a list in the order given
    assert np.array_equal(m.hidden_states(golden_prompt(name.split(".")[1]), layers=m.n_layer), dump)
    two = m.hidden_states(golden_prompt(name.split(".")[1]), layers=[2, 0])
    assert np.array_equal(two[0], hs[2]) and np.array_equal(two[1], hs[0])
    # the final norm applied to a layer: RMSNorm of the raw state (the normed layer n_layer is unchanged)
    normed = m.hidden_states(golden_prompt(name.split(".")[1]), layers=[m.n_layer - 1, m.n_layer], norm=True)
    assert np.array_equal(normed[1], dump)
    x = hs[m.n_layer - 1].astype(np.float64)
    rms = x / np.sqrt((x * x).mean(axis=1, keepdims=True) + 1e-5)
    # ratio to the stored norm weights is per dimension: the normed rows are proportional per column
    w = normed[0] / rms
    assert np.allclose(w, w[0:1, :], rtol=1e-3, atol=1e-6)


def test_embeddings_are_layer_zero(stories):
    """Layer 0 is the token embedding: the same token gives the same row at any position."""
    ids = stories.tokenize("the cat and the dog", add_bos=False)
    hs = stories.hidden_states(ids, layers=0)
    k = [i for i, t in enumerate(ids) if t == ids[0]]
    assert len(k) >= 2 and np.array_equal(hs[k[0]], hs[k[1]])
    h1 = stories.hidden_states(ids, layers=1)
    assert not np.array_equal(h1[k[0]], h1[k[1]])


def test_without_numpy(tmp_path):
    """numpy is optional: lists come back without it."""
    code = ("import sys; sys.modules['numpy'] = None\n"
            "import slotswift\n"
            f"m = slotswift.Model({STORIES!r}, threads=1)\n"
            "h = m.hidden_states('Once upon', layers=[0, 5])\n"
            "assert type(h) is list and len(h) == 2 and type(h[0][0]) is list and len(h[0][0]) == m.n_embd\n"
            "r = m.generate('Once upon', max_tokens=5, seed=1)\n"
            "print(len(r.tokens), type(m.hidden_states('Once', layers=5)).__name__)\n")
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                       env=dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path)))
    assert p.returncode == 0, p.stderr
    assert p.stdout.split() == ["5", "list"]
