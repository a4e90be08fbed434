"""SLOT through generate(slot=...): the per-step losses against the float64 references of
../shared/golden (*.slot_sS_lrLR.json, computed independently from llama.cpp's hidden states),
and texts + losses equal to the CLI's `generate --slot-steps` for the same seed."""
import os
import re

import pytest

from conftest import SHARED, STORIES, TINYMATH, cli, golden, golden_prompt, question

CASES = [  # golden file, model, relative tolerance (quantized models: the hidden states differ more)
    ("stories260K-f32.story2.slot_s5_lr0.1", "models/stories260K-f32.gguf", 1e-4),
    ("stories260K-f32.story2.slot_s5_lr0.01", "models/stories260K-f32.gguf", 1e-4),
    ("tinymath-f32.tinymath_q1.slot_s5_lr0.1", "testbed/tinymath-f32.gguf", 1e-4),
    ("llama-synth-mini-q4_0.story2.slot_s5_lr0.1", "models/llama-synth-mini-q4_0.gguf", 1e-3),
    ("qwen2-synth-tiny-q4_k_m.chat_gsm.slot_s3_lr0.1", "models/qwen2-synth-tiny-q4_k_m.gguf", 1e-3),
]


@pytest.mark.parametrize("name,model,tol", CASES)
def test_slot_losses_equal_golden(slotswift, name, model, tol):
    g = golden(name + ".json")
    base = golden(name.split(".slot_")[0] + ".json")
    prompt = golden_prompt(name.split(".")[1])
    with slotswift.Model(os.path.join(SHARED, model), threads=2) as m:
        assert m.tokenize(prompt, special=True) == base["prompt_tokens"]
        r = m.generate(prompt, max_tokens=1, temperature=0,
                       slot=dict(steps=g["steps"], lr=g["lr"], beta1=g["betas"][0], beta2=g["betas"][1],
                                 eps=g["eps"], wd=g["weight_decay"]))
    assert len(r.slot_losses) == g["steps"]
    for ours, ref in zip(r.slot_losses + [r.slot_loss_after], g["loss_before_each_step"] + [g["loss_after"]]):
        assert abs(ours - ref) <= tol * abs(ref), (ours, ref)
    # the first token is the argmax of the logits with delta: the reference's top-1
    assert r.tokens[0] == g["last_position_topk_with_delta"][0][0]


@pytest.mark.parametrize("model,prompt,chat", [(STORIES, "Once upon a time, a girl", False),
                                               (TINYMATH, question(7)["question"], True)])
def test_slot_generation_equals_cli(slotswift, stories, tinymath, model, prompt, chat):
    m = stories if model == STORIES else tinymath
    text = m.chat_prompt([{"role": "user", "content": prompt}]) if chat else prompt
    slot = dict(steps=4, lr=0.05, wd=1e-6)
    r = m.generate(text, max_tokens=50, seed=13, slot=slot)
    out, err = cli("generate", "-m", model, "-p", prompt, *(["--chat"] if chat else []), "-n", 50, "--seed", 13,
                   "-t", 2, "--slot-steps", 4, "--slot-lr", 0.05, "--slot-wd", 1e-6)
    assert r.text == out[:-1]
    printed = [float(x) for x in re.findall(r"slot: step \d+ loss ([0-9.]+)", err)]
    assert printed == [float(f"{x:.6f}") for x in r.slot_losses]
    assert r.slot_losses[-1] < r.slot_losses[0]


def test_safe_slot_equals_cli(slotswift, tinymath):
    """slot=dict(safe=True): the trust region's per-step losses, KLs and scales equal the CLI's
    `generate --slot-safe` (lr 0.5: the bound binds), and the KL stays within the bound."""
    q = question(3)["question"]
    text = tinymath.chat_prompt([{"role": "user", "content": q}])
    r = tinymath.generate(text, max_tokens=30, temperature=0, slot=dict(steps=4, lr=0.5, safe=True))
    out, err = cli("generate", "-m", TINYMATH, "-p", q, "--chat", "-n", 30, "--temp", 0, "-t", 2,
                   "--slot-steps", 4, "--slot-lr", 0.5, "--slot-safe")
    assert r.text == out[:-1]
    rows = re.findall(r"slot: step \d+ loss ([0-9.]+) \(KL ([0-9.e+-]+), scale ([0-9.e+-]+)\)", err)
    assert len(rows) == 4 == len(r.slot_kl)
    for (loss, kl, scale), l, k, s in zip(rows, r.slot_losses, r.slot_kl, r.slot_scale):
        assert float(loss) == float(f"{l:.6f}") and float(kl) == float(f"{k:.4g}") and float(scale) == float(f"{s:g}")
        assert k <= 0.05
    assert min(r.slot_scale) < 1
    with pytest.raises(slotswift.Error):
        tinymath.generate(text, max_tokens=1, slot=dict(steps=2, kl_max=-1))
