"""best_of() equals `slotswift bon --json` (vote / logprob / first / swift with a head written by
Head.save), SLOT included; a head saved from Python gives `eval --swift` the same rewards; the
rewards equal the SWIFT formula over hidden_states() features (an independent numpy computation);
best_of's early_stop / adaptive (adaptive_margin / adaptive_gamma too) equal bon's --early-stop /
--adaptive flags."""
import json

import numpy as np
import pytest

from conftest import TINYMATH, TINYMATH_Q4, cli, question, question_file


def f32(x):
    """JSON numbers as the float32 values they print (%.9g round-trips float32, not double)."""
    if isinstance(x, float):
        return float(np.float32(x))
    if isinstance(x, dict):
        return {k: f32(v) for k, v in x.items()}
    if isinstance(x, list):
        return [f32(v) for v in x]
    return x


def bon(*args):
    out, _ = cli("bon", "-m", TINYMATH, "-t", 2, "--json", *args)
    return f32(json.loads(out))


@pytest.fixture(scope="module")
def head_file(tmp_path_factory, tinymath, slotswift):
    rng = np.random.default_rng(0)
    dim = 2 * tinymath.n_embd
    W = rng.normal(0, 0.05, size=(2, dim)).astype(np.float32)
    path = tmp_path_factory.mktemp("head") / "head.gguf"
    h = slotswift.Head.save(str(path), W, [0.1, -0.2], model=tinymath, layers="last2",
                            train_info={"what": "random test head"})
    assert np.array_equal(h.W, W) and h.layers == [tinymath.n_layer - 1, tinymath.n_layer]
    assert h.dim == dim and h.train_info == {"what": "random test head"} and not h.norm
    return str(path)


@pytest.mark.parametrize("select,extra", [("vote", []), ("logprob", ["--top-k", 0, "--min-p", 0, "--temp", 1.0]),
                                          ("first", ["--slot-steps", 3, "--slot-lr", 0.05]),
                                          ("vote", ["--slot-steps", 3, "--slot-lr", 0.5, "--slot-kl-max", 0.02])])
def test_best_of_equals_bon(tinymath, select, extra):
    q = question(10)["question"]
    kw = {"seed": 21}
    flags = list(extra)
    while flags:
        k, v = flags.pop(0), flags.pop(0)
        if k.startswith("--slot"):
            kw.setdefault("slot", {})[k[len("--slot-"):].replace("-", "_")] = v
        else:
            kw[{"--temp": "temperature"}.get(k, k[2:].replace("-", "_"))] = v
    res = tinymath.best_of([{"role": "user", "content": q}], n=4, select=select, max_tokens=60, **kw)
    ref = bon("--chat", "-p", q, "-N", 4, "--select", select, "-n", 60, "--seed", 21, *extra)
    assert dict(res) == ref
    assert res.text == ref["candidates"][ref["selected"]]["text"]
    assert [r.text for r in res.results] == [c["text"] for c in ref["candidates"]]


def test_best_of_swift_equals_bon(tinymath, slotswift, head_file):
    q = question(20)["question"]
    res = tinymath.best_of([{"role": "user", "content": q}], n=5, head=slotswift.Head.load(head_file),
                           max_tokens=50, seed=3)
    assert res["select"] == "swift"
    assert dict(res) == bon("--chat", "-p", q, "-N", 5, "--swift", head_file, "-n", 50, "--seed", 3)
    # the head by file name, and the rewards from the formula over hidden_states() features
    res2 = tinymath.best_of([{"role": "user", "content": q}], n=5, head=head_file, max_tokens=50, seed=3)
    assert dict(res2) == dict(res)
    h = slotswift.Head.load(head_file)
    W, b = h.W.astype(np.float64), h.b.astype(np.float64)
    prompt = tinymath.tokenize(tinymath.chat_prompt([{"role": "user", "content": q}]), special=True)
    for r, c in zip(res.results, res["candidates"]):
        assert r.prompt_tokens == prompt
        # features of the generated tokens (the end token included): their rows in prompt + response
        hs = tinymath.hidden_states(prompt + r.tokens, layers=h.layers)
        X = np.concatenate([hs[0], hs[1]], axis=1)[len(prompt):].astype(np.float64)
        g, rr = X @ W[0] + b[0], X @ W[1] + b[1]
        s = 1 / (1 + np.exp(-g))
        R = (s * rr).sum() / max(s.sum(), 1e-8)
        assert abs(R - c["swift"]) <= 1e-4 * max(1.0, abs(R))
        assert abs(h.reward(X.astype(np.float32)) - R) <= 1e-4 * max(1.0, abs(R))


def test_head_saved_from_python_in_eval(tinymath, head_file, tmp_path):
    """`eval --swift` reads the Python-written head: its candidates' rewards are Python's."""
    items = [question(20), question(21)]
    data = tmp_path / "q.jsonl"
    data.write_text("".join(json.dumps(it) + "\n" for it in items))
    cli("eval", "-m", TINYMATH, "--chat", "--data", data, "-N", 3, "--swift", head_file, "-n", 40,
        "--seed", 8, "-t", 2, "--out", tmp_path / "out.jsonl")
    lines = [f32(json.loads(l)) for l in list(open(tmp_path / "out.jsonl"))[1:]]   # line 1: the settings record
    assert len(lines) == 2
    for qi, line in enumerate(lines):
        # eval's question i draws with seed + i * 1000003 (+ the candidate index)
        res = tinymath.best_of([{"role": "user", "content": items[qi]["question"]}], n=3, head=head_file,
                               max_tokens=40, seed=8 + qi * 1000003)
        assert [c["swift"] for c in line["candidates"]] == [c["swift"] for c in res["candidates"]]
        assert line["selected"] == res["selected"]


def test_swift_train_head_in_python(tinymath, slotswift, tmp_path):
    """A head written by `swift-train` loads in Python with its provenance, and best_of with it
    equals `bon --swift` with it."""
    # short answers: some candidates wrong (swift-train refuses a store of one label)
    cli("swift-collect", "-m", TINYMATH, "--data", question_file(), "--chat", "-N", 2, "-n", 14, "--seed", 1,
        "--limit", 6, "--swift-layers", "last3", "--swift-norm", "-t", 2, "--out", tmp_path / "feats")
    cli("swift-train", "--in", tmp_path / "feats", "--out", tmp_path / "h.gguf", "--epochs", 2, "--val", 0, "-q")
    h = slotswift.Head.load(str(tmp_path / "h.gguf"))
    assert h.layers == [tinymath.n_layer - 2, tinymath.n_layer - 1, tinymath.n_layer] and h.norm
    assert h.W.shape == (2, 3 * tinymath.n_embd) and h.model_fingerprint == tinymath.fingerprint
    assert isinstance(h.train_info, dict)
    q = question(30)["question"]
    res = tinymath.best_of([{"role": "user", "content": q}], n=3, head=h, max_tokens=40, seed=6)
    assert dict(res) == bon("--chat", "-p", q, "-N", 3, "--swift", tmp_path / "h.gguf", "-n", 40, "--seed", 6)


def test_best_of_quantized_equals_bon(slotswift):
    """On a quantized model (where the matmul kernels of prompt and generated rows differ), with
    SLOT: log-probabilities equal to the last bit."""
    q = question(40)["question"]
    with slotswift.Model(TINYMATH_Q4, threads=2) as m:
        res = m.best_of([{"role": "user", "content": q}], n=3, select="logprob", max_tokens=40, seed=2,
                        slot=dict(steps=2, lr=0.05))
    out, _ = cli("bon", "-m", TINYMATH_Q4, "-t", 2, "--json", "--chat", "-p", q, "-N", 3, "--select", "logprob",
                 "-n", 40, "--seed", 2, "--slot-steps", 2, "--slot-lr", 0.05)
    assert dict(res) == f32(json.loads(out))


@pytest.mark.parametrize("kw,flags", [({"early_stop": True}, ["--early-stop"]),
                                      ({"adaptive": True}, ["--adaptive"]),
                                      ({"adaptive": 2, "adaptive_conf": 0.85, "adaptive_agree": 0.5, "adaptive_tokp": 0.99},
                                       ["--adaptive-wave", 2, "--adaptive-conf", 0.85, "--adaptive-agree", 0.5, "--adaptive-tokp", 0.99]),
                                      ({"adaptive": 2, "adaptive_margin": 0.5, "adaptive_gamma": 20.3},
                                       ["--adaptive-wave", 2, "--adaptive-margin", 0.5, "--adaptive-gamma", 20.3])])
def test_best_of_vote_stops_equal_bon(tinymath, kw, flags):
    """the same candidates, stopped ones ("stopped": true, no answer) and selection as bon with the flags"""
    stopped = 0
    for qi in (0, 3, 10):
        q = question(qi)["question"]
        res = tinymath.best_of([{"role": "user", "content": q}], n=8, select="vote", max_tokens=100, seed=5,
                               temperature=0.8, top_p=0.95, top_k=0, min_p=0, **kw)
        ref = bon("--chat", "-p", q, "-N", 8, "--select", "vote", "-n", 100, "--seed", 5, "--temp", 0.8,
                  "--top-p", 0.95, "--top-k", 0, "--min-p", 0, *flags)
        assert dict(res) == ref
        assert [r.stopped for r in res.results] == [c.get("stopped", False) for c in ref["candidates"]]
        stopped += sum(r.stopped for r in res.results)
    assert stopped > 0


@pytest.mark.parametrize("margin,gamma", [(0.25, None), (0.22, 20)])
def test_best_of_adaptive_margin_equals_bon(tinymath, margin, gamma):
    """the weighted vote's selection as bon's: with margin 0.25 (gamma 24) all 4 run and it picks another
    answer than the vote; gamma 20, margin 0.22 stops after the first wave of 2"""
    q = "Max has 5 apples. He buys 3 more. How many apples does Max have now?"
    res = tinymath.best_of([{"role": "user", "content": q}], n=4, select="vote", max_tokens=48, seed=40,
                           temperature=0.8, adaptive=2, adaptive_margin=margin, adaptive_gamma=gamma)
    ref = bon("--chat", "-p", q, "-N", 4, "--select", "vote", "-n", 48, "--seed", 40, "--temp", 0.8,
              "--adaptive-wave", 2, "--adaptive-margin", margin, *(["--adaptive-gamma", gamma] if gamma else []))
    assert dict(res) == ref
    sel = ref["candidates"][ref["selected"]]
    if gamma is None:
        assert any(c["votes"] > sel["votes"] for c in ref["candidates"])
    else:
        assert any(c.get("stopped") for c in ref["candidates"])


def test_best_of_vote_stop_errors(tinymath):
    from slotswift import Error
    msgs = [({"select": "logprob", "early_stop": True}, "need select='vote'"),
            ({"select": "logprob", "adaptive": 2}, "need select='vote'"),
            ({"adaptive_conf": 0.9}, "needs adaptive"),
            ({"adaptive": True, "adaptive_tokp": 1.5}, "adaptive_tokp"),
            ({"adaptive": -1}, "adaptive"),
            ({"adaptive_margin": 0.1}, "needs adaptive"),
            ({"adaptive": True, "adaptive_margin": -1}, "adaptive_margin"),
            ({"adaptive": True, "adaptive_margin": 0.1, "adaptive_gamma": 0}, "adaptive_gamma"),
            ({"early_stop": 1}, "early_stop")]
    for kw, msg in msgs:
        with pytest.raises(Error, match=msg):
            tinymath.best_of("2+2=", n=2, max_tokens=4, **kw)
