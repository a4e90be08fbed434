"""generate() / stream() against the CLI (`slotswift generate`, same seed and flags: same text),
against llama.cpp's greedy continuations (../shared/golden), and their streaming / threading."""
import threading

import pytest

from conftest import STORIES, TINYMATH, TINYMATH_Q4, cli, golden, golden_prompt, question


def cli_generate(model, prompt, *flags):
    out, _ = cli("generate", "-m", model, "-p", prompt, "-t", 2, *flags)
    assert out.endswith("\n")
    return out[:-1]


@pytest.mark.parametrize("seed,temp,extra", [(1, 0.8, {}), (7, 1.2, {"top_k": 0, "min_p": 0.0}),
                                             (3, 0.0, {}), (5, 0.9, {"top_p": 0.5, "repeat_penalty": 1.3})])
def test_text_equals_cli(stories, seed, temp, extra):
    flags = ["--seed", seed, "--temp", temp, "-n", 60]
    for k, v in extra.items():
        flags += ["--" + k.replace("_", "-"), v]
    r = stories.generate("Once upon a time", max_tokens=60, seed=seed, temperature=temp, **extra)
    assert r.text == cli_generate(STORIES, "Once upon a time", *flags)
    assert len(r.tokens) == len(r.logprobs) and 0 < len(r.tokens) <= 60
    assert all(lp <= 0 for lp in r.logprobs)
    assert r.finish_reason in ("length", "eog")


def test_chat_and_stop_equal_cli(tinymath):
    q = question(3)["question"]
    prompt = tinymath.chat_prompt([{"role": "user", "content": q}])
    for seed in (2, 11):
        r = tinymath.generate(prompt, max_tokens=80, seed=seed, stop=["\n#"])
        assert r.text == cli_generate(TINYMATH, q, "--chat", "--seed", seed, "-n", 80, "--stop", "\n#")
    r = tinymath.generate(prompt, max_tokens=80, temperature=0, stop="=")
    assert r.finish_reason == "stop" and "=" not in r.text


def test_quantized_equals_cli(slotswift):
    q = question(5)["question"]
    with slotswift.Model(TINYMATH_Q4, threads=2) as m:
        r = m.generate(m.chat_prompt([{"role": "user", "content": q}]), max_tokens=60, seed=4)
    assert r.text == cli_generate(TINYMATH_Q4, q, "--chat", "--seed", 4, "-n", 60)


@pytest.mark.parametrize("name", ["tinymath-f32.tinymath_q1", "tinymath-f32.tinymath_q2", "stories260K-f32.story1"])
def test_greedy_equals_llama_cpp(slotswift, tinymath, stories, name):
    """Greedy continuations of an independent engine (llama.cpp, ../shared/golden)."""
    g = golden(name + ".json")
    m = tinymath if name.startswith("tinymath") else stories
    prompt = golden_prompt(name.split(".")[1])
    assert m.tokenize(prompt, special=True) == g["prompt_tokens"]
    r = m.generate(prompt, temperature=0, max_tokens=len(g["greedy"]))
    assert r.tokens == g["greedy"]


def test_stream_pieces(tinymath):
    prompt = tinymath.chat_prompt([{"role": "user", "content": question(1)["question"]}])
    s = tinymath.stream(prompt, max_tokens=50, seed=9)
    pieces = list(s)
    r = tinymath.generate(prompt, max_tokens=50, seed=9)
    assert len(pieces) > 5 and "".join(pieces) == r.text
    assert s.result.text == r.text and s.result.tokens == r.tokens
    # stopping a stream early frees its sequences: the next run is unaffected
    assert tinymath.kv_pages_used == 0
    with tinymath.generate(prompt, max_tokens=50, seed=9, stream=True) as s2:
        first = next(iter(s2))
        assert tinymath.kv_pages_used > 0
    assert first == pieces[0] and tinymath.kv_pages_used == 0
    assert tinymath.generate(prompt, max_tokens=50, seed=9).text == r.text


def test_interleaved_streams_and_threads(slotswift, tinymath):
    """Two streams stepped alternately on one model, and generations on two threads, give what
    each gives alone."""
    p1 = tinymath.chat_prompt([{"role": "user", "content": question(2)["question"]}])
    p2 = tinymath.chat_prompt([{"role": "user", "content": question(4)["question"]}])
    alone = [tinymath.generate(p, max_tokens=40, seed=s).text for p, s in ((p1, 1), (p2, 2))]
    a, b = tinymath.stream(p1, max_tokens=40, seed=1), tinymath.stream(p2, max_tokens=40, seed=2)
    ta, tb = [], []
    live = [(a, ta), (b, tb)]
    while live:                      # one piece of each in turn
        for it in list(live):
            try:
                it[1].append(next(it[0]))
            except StopIteration:
                live.remove(it)
    assert ["".join(ta), "".join(tb)] == alone
    out = [None, None]

    def run(k, p, s):
        out[k] = tinymath.generate(p, max_tokens=40, seed=s).text
    th = [threading.Thread(target=run, args=(0, p1, 1)), threading.Thread(target=run, args=(1, p2, 2))]
    for t in th:
        t.start()
    for t in th:
        t.join()
    assert out == alone


def test_tokenize_detokenize(tinymath, stories):
    text = "Tom has 12 apples. He buys 3 more!"
    ids = tinymath.tokenize(text)
    assert tinymath.detokenize(ids) == text
    assert stories.detokenize(stories.tokenize(text, add_bos=False)) == text
    out, _ = cli("tokenize", "-m", TINYMATH, "-p", "<|im_start|>user\n" + text, "--ids")
    assert tinymath.tokenize("<|im_start|>user\n" + text, special=True) == [int(x) for x in out.replace(",", " ").replace("[", " ").replace("]", " ").split()]
