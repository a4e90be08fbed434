#!/usr/bin/env python3
"""toy_store.py DIR — a small valid SWIFT feature store (6 questions x 2 candidates, dim 4, both
labels, features that separate them) for the tests that need a store or a head trained on one."""
import json, os, struct, sys
d = sys.argv[1]
os.makedirs(d, exist_ok=True)
meta = {"format": "slotswift-swift-features", "version": 1, "model_name": "toy", "model_fingerprint": "00000000deadbeef",
        "layers": "last1", "layer_list": [2], "norm": False, "logits": False, "dim": 4, "dtype": "f32", "row_align": 64, "collect": {}}
json.dump(meta, open(os.path.join(d, "meta.json"), "w"))
data = bytearray(); idx = open(os.path.join(d, "index.jsonl"), "w")
for q in range(6):
    for c in range(2):
        off = (len(data) + 63) // 64 * 64; data.extend(b"\0" * (off - len(data)))
        lab = (q + c) % 2
        for t in range(3): data.extend(struct.pack("<4f", lab, 1 - lab, 0.5 * t, 1))
        idx.write(json.dumps({"q": q, "c": c, "n_cand": 2, "label": lab, "n_tokens": 3, "offset": off}) + "\n")
open(os.path.join(d, "features.bin"), "wb").write(data)
