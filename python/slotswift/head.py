"""head.py — slotswift.Head: a SWIFT reward head, read and written by the library's own head
GGUF code (ss_swift_head_load / ss_swift_head_save), so the files are those of `swift-train`.

    [g_t, r_t] = W x_t + b      W: [2, dim] (row 0 gate, row 1 reward), x_t: features of token t
    R = sum_t sigmoid(g_t) r_t / max(sum_t sigmoid(g_t), 1e-8)       (no_gate: mean_t r_t)"""
import ctypes
import json
import os
from ctypes import byref

from . import _lib
from ._lib import Error, lib
from ._arrays import shaped, to_float_buffer


def _json_or_str(x):
    if x is None:
        return b""
    s = x if isinstance(x, str) else json.dumps(x)
    return s.encode("utf-8")


class Head:
    """A loaded SWIFT head. Attributes: W ([2, dim]), b ([2]), layers (HF-numbered list; empty for
    logits features), layer_spec (as given: "last4", "12,16", "logits"), norm, logits, dim,
    no_gate, model_name, model_fingerprint, train_info and val_metrics (dicts when JSON), path."""

    def __init__(self):
        self._h = _lib.ss_swift_head()
        self._owned = False
        self.path = None

    @classmethod
    def load(cls, path):
        """Read a head file (as written by swift-train or Head.save)."""
        if not isinstance(path, (str, bytes, os.PathLike)):
            raise Error(f"head path: expected a file name, got {type(path).__name__}")
        h = cls()
        err = _lib.errbuf()
        if lib.ss_swift_head_load(byref(h._h), os.fsencode(path), err, _lib.ERRLEN):
            raise Error(_lib.errmsg(err))
        h._owned = True
        h.path = os.fsdecode(path)
        return h

    @staticmethod
    def save(path, W, b, model, layers=None, norm=False, logits=False, no_gate=False,
             train_info=None, val_metrics=None):
        """Write a head file for `model` (a slotswift.Model: its name and fingerprint are recorded
        and checked when the head is used). W: [2, dim] (gate row, reward row), b: [2].
        layers: the features — a spec string ("all", "lastK", "a,b,c") or a list of HF-numbered
        layers (as hidden_states), concatenated in that order (None: "last4"); logits=True: the
        logits instead.
        norm: the final norm applied to each layer. train_info / val_metrics: dicts (stored as
        JSON) or strings. Returns the written Head (loaded back)."""
        model._live()
        if layers is None:
            layers = "" if logits else "last4"
        spec_s = ",".join(str(int(l)) for l in layers) if isinstance(layers, (list, tuple)) else str(layers)
        spec = _lib.ss_swift_spec()
        err = _lib.errbuf()
        if lib.ss_swift_spec_parse(byref(spec), spec_s.encode(), bool(norm), bool(logits), model.n_layer,
                                   model.n_embd, model.n_vocab, err, _lib.ERRLEN):
            raise Error(_lib.errmsg(err))
        try:
            shape = getattr(W, "shape", None) or (len(W), *{len(row) for row in W})
        except TypeError:
            raise Error(f"W: expected a [2, {spec.dim}] array") from None
        if tuple(shape) != (2, spec.dim):      # (a transposed [dim, 2] W has the right size too)
            raise Error(f"W: shape {tuple(shape)}, expected (2, {spec.dim}) for layers '{spec.layers.decode()}'")
        Wb = to_float_buffer(W, 2 * spec.dim, f"W (expected shape [2, {spec.dim}])")
        bb = to_float_buffer(b, 2, "b (expected 2 values)")
        ti, vm = _json_or_str(train_info), _json_or_str(val_metrics)
        if len(ti) >= 2048 or len(vm) >= 1024:
            raise Error("train_info / val_metrics: too long (at most 2047 / 1023 bytes)")
        h = _lib.ss_swift_head()
        if lib.ss_swift_head_init(byref(h), byref(spec)):
            raise Error("out of memory (head)")
        try:
            ctypes.memmove(h.W, Wb, 4 * 2 * spec.dim)
            h.b[0], h.b[1] = bb[0], bb[1]
            h.no_gate = bool(no_gate)
            h.model_name = model.name.encode("utf-8")[:255]
            h.model_fingerprint = model.fingerprint
            h.train_info, h.val_metrics = ti, vm
            if lib.ss_swift_head_save(byref(h), os.fsencode(path), err, _lib.ERRLEN):
                raise Error(_lib.errmsg(err))
        finally:
            lib.ss_swift_head_free(byref(h))
        return Head.load(path)

    # ------------------------------------------------------------ fields
    @property
    def dim(self):
        return self._h.dim

    @property
    def W(self):
        return shaped(_copy(self._h.W, 2 * self.dim), (2, self.dim))

    @property
    def b(self):
        return shaped(_copy(self._h.b, 2), (2,))

    @property
    def layers(self):
        return list(self._h.spec.layer[:self._h.spec.n_layers])

    @property
    def layer_spec(self):
        return self._h.spec.layers.decode()

    @property
    def norm(self):
        return bool(self._h.spec.norm)

    @property
    def logits(self):
        return bool(self._h.spec.logits)

    @property
    def conf(self):
        """The head reads the confidence features (swift-collect / swift-train --swift-conf)."""
        return bool(self._h.spec.conf)

    @property
    def no_gate(self):
        return bool(self._h.no_gate)

    @property
    def model_name(self):
        return self._h.model_name.decode("utf-8", "replace")

    @property
    def model_fingerprint(self):
        return self._h.model_fingerprint

    def _json(self, raw):
        s = raw.decode("utf-8", "replace")
        try:
            return json.loads(s) if s else None
        except ValueError:
            return s

    @property
    def train_info(self):
        return self._json(self._h.train_info)

    @property
    def val_metrics(self):
        return self._json(self._h.val_metrics)

    def reward(self, X):
        """The reward of one response from its features X [T, dim] (ss_swift_reward)."""
        rows = len(X)
        buf = to_float_buffer(X, rows * self.dim, f"X (expected shape [T, {self.dim}])")
        return lib.ss_swift_reward(byref(self._h), buf, rows)

    def close(self):
        if self._owned:
            lib.ss_swift_head_free(byref(self._h))
            self._owned = False

    def __del__(self):
        try:
            self.close()
        except Exception:
            pass

    def __repr__(self):
        return f"Head(layers={self.layer_spec!r}, dim={self.dim}, norm={self.norm}, model={self.model_name!r})"


def _copy(ptr, n):
    buf = (ctypes.c_float * n)()
    ctypes.memmove(buf, ptr, 4 * n)
    return buf
