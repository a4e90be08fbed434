#!/usr/bin/python3
# swift_probe.py — an independent check of what a linear read-out of the hidden states can do for
# Best-of-N, outside the engine (numpy only: apt-get install python3-numpy libopenblas0-pthread).
#
#   scripts/swift_probe.py TRAIN_DIR TEST_DIR [--head HEAD.gguf --results EVAL.jsonl]
#
# TRAIN_DIR / TEST_DIR: feature stores written by `slotswift swift-collect` (meta.json, index.jsonl,
# features.bin). For each candidate the token features are pooled (mean, max, last token); ridge
# regressions on the labels (fitted globally, and within questions: features and labels centred per
# question) are fitted on TRAIN and scored by best-of-N accuracy on TEST (pick the highest score
# among a question's candidates), next to a random pick and the oracle (pass@N).
# With --head and --results (an `eval --swift HEAD` run on the same questions, seed and sampling
# as TEST's collect, so the candidates are the same), it also recomputes each candidate's reward
#   R = Σ_t σ(g_t) r_t / max(Σ_t σ(g_t), 1e-8),  [g_t, r_t] = W x_t + b
# in float64 from TEST's stored features and prints the largest difference to eval's "swift".
import json, os, sys
import numpy as np
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gguf_read import gguf_read


def store_open(d):
    meta = json.load(open(d + "/meta.json"))
    dt = np.float16 if meta["dtype"] == "f16" else np.float32
    feats = np.memmap(d + "/features.bin", dtype=dt, mode="r")
    index = [json.loads(l) for l in open(d + "/index.jsonl")]
    return meta, feats, index


def cand_rows(meta, feats, r):
    D = meta["dim"]
    o = r["offset"] // feats.dtype.itemsize
    return np.asarray(feats[o:o + r["n_tokens"] * D], np.float64).reshape(r["n_tokens"], D)


def pooled(d):
    meta, feats, index = store_open(d)
    P = {"mean": [], "max": [], "last": []}
    for r in index:
        f = cand_rows(meta, feats, r)
        P["mean"].append(f.mean(0)); P["max"].append(f.max(0)); P["last"].append(f[-1])
    P = {k: np.array(v) for k, v in P.items()}
    return P, np.array([r["label"] for r in index], float), np.array([r["q"] for r in index])


def best_of_n(score, Y, Q):
    return np.mean([Y[Q == q][np.argmax(score[Q == q])] for q in np.unique(Q)])


def centre(X, y, Q):
    X = X.copy(); y = y.copy()
    for q in np.unique(Q):
        m = Q == q
        X[m] -= X[m].mean(0); y[m] -= y[m].mean()
    return X, y


def gguf_tensors(path):
    kv, info, b = gguf_read(path)
    for n, (dims, ty, off) in info.items():
        assert ty == 0, n + ": F32 tensors only"
    return kv, {n: np.frombuffer(b, np.float32, int(np.prod(d)), off).reshape(d[::-1]) for n, (d, ty, off) in info.items()}


def check_head(test_dir, head, results):
    kv, T = gguf_tensors(head)
    W = T["swift.W"].astype(np.float64); b = T["swift.b"].astype(np.float64)
    meta, feats, index = store_open(test_dir)
    layers = kv["swift.layer_list"]; H = meta["dim"] // len(meta["layer_list"])
    if meta["logits"] or kv["swift.logits"] or kv["swift.norm"] != meta["norm"]:
        cols = np.arange(meta["dim"])
    else:
        cols = np.concatenate([np.arange(meta["layer_list"].index(l) * H, (meta["layer_list"].index(l) + 1) * H) for l in layers])
    ev = {e["index"]: e for e in map(json.loads, open(results))}
    worst, same = 0.0, 0
    for r in index:
        c = ev[r["q"]]["candidates"][r["c"]]
        if c.get("text") != r["text"]: continue
        x = cand_rows(meta, feats, r)[:, cols]
        g = x @ W[0] + b[0]; rr = x @ W[1] + b[1]; s = 1 / (1 + np.exp(-g))
        R = (s * rr).sum() / max(s.sum(), 1e-8) if not kv.get("swift.no_gate") else rr.mean()
        worst = max(worst, abs(R - c["swift"]) / (1 + abs(R))); same += 1
    print(f"head check: {same}/{len(index)} candidates identical to the eval run; "
          f"max |R(numpy) - R(eval)| / (1 + |R|) = {worst:.2e}")


def main():
    a = sys.argv[1:]
    if len(a) < 2:
        sys.exit("usage: swift_probe.py TRAIN_DIR TEST_DIR [--head HEAD.gguf --results EVAL.jsonl]")
    Ptr, Ytr, Qtr = pooled(a[0]); Pte, Yte, Qte = pooled(a[1])
    print(f"test: {len(np.unique(Qte))} questions, random pick {np.mean([Yte[Qte == q].mean() for q in np.unique(Qte)]):.3f}, "
          f"oracle {np.mean([Yte[Qte == q].max() for q in np.unique(Qte)]):.3f}")
    for pools in (["mean"], ["max"], ["last"], ["mean", "max", "last"]):
        X = np.concatenate([Ptr[p] for p in pools], 1); Xt = np.concatenate([Pte[p] for p in pools], 1)
        mu = X.mean(0); sd = X.std(0) + 1e-6; X = (X - mu) / sd; Xt = (Xt - mu) / sd
        Xc, yc = centre(X, Ytr, Qtr)
        G, g = X.T @ X, X.T @ (Ytr - Ytr.mean()); Gc, gc = Xc.T @ Xc, Xc.T @ yc
        for lam in (1, 10, 100, 1000):
            I = lam * np.eye(len(G))
            w, wc = np.linalg.solve(G + I, g), np.linalg.solve(Gc + I, gc)
            print(f"ridge {'+'.join(pools):14s} lambda {lam:5d}: best-of-N global {best_of_n(Xt @ w, Yte, Qte):.3f}  "
                  f"within-question {best_of_n(Xt @ wc, Yte, Qte):.3f}")
    if "--head" in a and "--results" in a:
        check_head(a[1], a[a.index("--head") + 1], a[a.index("--results") + 1])


if __name__ == "__main__":
    main()
