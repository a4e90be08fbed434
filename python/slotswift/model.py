"""model.py — slotswift.Model: a GGUF model with its context (KV cache) over libslotswift.

Tokenizing, chat rendering and hidden states call the library directly. Generation (generate,
stream, best_of) is the library's own: a request (ss_gen_params) of the context's step-wise engine
(ss_engine_*, the one the CLI's `generate` / `bon` run on through ss_gen_run), so its results equal
the CLI's for the same arguments; streaming reads the per-token callback. Every library call
releases the GIL (ctypes), so the GIL is held only between engine steps."""
import contextlib
import ctypes
import math
import os
import threading
from ctypes import byref, c_char_p, c_double, c_float, c_int, c_uint8

from . import _lib
from ._lib import Error, lib
from ._arrays import shaped
from .head import Head

FINISH_REASONS = ("length", "eog", "stop", "ctx", "cancel")   # enum ss_finish order
_SLOT_SAFE_KL_MAX = ctypes.c_float(0.05).value   # SS_SLOT_SAFE_KL_MAX (slotswift.h)
_ADAPTIVE_WAVE = 1   # SS_ADAPTIVE_WAVE (slotswift.h): adaptive=True's first wave
_ADAPTIVE_GAMMA = 24.0   # SS_ADAPTIVE_GAMMA (slotswift.h): the weighted vote's default exponent
_SELECT_VOTE = 1     # SS_SELECT_VOTE
_SLOT_KEYS = ("steps", "lr", "beta1", "beta2", "eps", "wd", "kl_max", "safe", "min_gain")
_SAMPLING_KEYS = ("temperature", "top_p", "top_k", "min_p", "repeat_penalty", "repeat_last_n",
                  "presence_penalty", "frequency_penalty", "seed")
_PIECE_CAP = 512      # bytes per token piece in detokenize
_OUT_LAYERS = 4       # batch entry flag SS_OUT_LAYERS (enum ss_out_flags)
_DUMP_CHUNK = 64      # prompt positions per forward pass in hidden_states (as `slotswift dump`)


class Result:
    """One generated completion.
    text: generated text (a matched stop string cut off); tokens: sampled token ids (the
    end-of-generation token included); logprobs: log p(token) under the model's raw distribution;
    finish_reason: "length" | "eog" | "stop" | "ctx" | "cancel"; stopped: best_of's early stop or
    adaptive sampling stopped it (text partial, no answer); prompt_tokens: the prompt as tokenized
    (hidden_states(prompt_tokens + tokens) gives the response's features); slot_losses: SLOT's loss before each step
    (None without SLOT); slot_kl, slot_scale: per step, the mean KL between the prompt's next-token
    distributions without and with delta after the step and the step scale used (trust region: slot kl_max /
    safe); slot_loss_after: loss at the final delta; swift: SWIFT reward (with a head)."""

    __slots__ = ("text", "tokens", "logprobs", "finish_reason", "stopped", "slot_losses", "slot_kl", "slot_scale", "slot_loss_after",
                 "swift", "prompt_tokens", "_text_bytes", "_logprob_sum")

    def __init__(self):
        self.text = ""
        self.tokens = []
        self.logprobs = []
        self.finish_reason = None
        self.stopped = False
        self.slot_losses = None
        self.slot_kl = None
        self.slot_scale = None
        self.slot_loss_after = None
        self.swift = None
        self.prompt_tokens = []
        self._text_bytes = b""
        self._logprob_sum = 0.0

    @property
    def logprob_mean(self):
        """Mean token log-probability (-inf without tokens), as Best-of-N's logprob rule uses it
        (the library's sum, in double precision in token order, over the token count)."""
        return self._logprob_sum / len(self.tokens) if self.tokens else -math.inf

    @property
    def logprob_min(self):
        return min(self.logprobs) if self.logprobs else 0.0

    def __repr__(self):
        return (f"Result(text={self.text!r}, tokens={len(self.tokens)}, finish_reason={self.finish_reason!r}"
                + (f", swift={self.swift:.6g}" if self.swift is not None else "") + ")")


class BestOf(dict):
    """best_of's answer: the same object as `slotswift bon --json` prints
    ({"selected", "select", "candidates": [{"text", "answer", "tokens", "logprob_mean",
    "logprob_min", "swift", "votes"}]}), plus .results (the Result of every candidate) and .text
    (the selected candidate's text)."""

    def __init__(self, d, results):
        super().__init__(d)
        self.results = results

    @property
    def text(self):
        return self["candidates"][self["selected"]]["text"]

    @property
    def selected(self):
        return self["selected"]


class Stream:
    """Iterator over the text pieces of a streamed generation; .result is the Result once the
    stream is exhausted. close() (or leaving a `with` block) stops the generation early."""

    def __init__(self, gen):
        self._gen = gen
        self.result = None

    def __iter__(self):
        return self

    def __next__(self):
        try:
            return next(self._gen)
        except StopIteration as e:
            self.result = e.value[0] if e.value else None
            raise

    def close(self):
        self._gen.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def _check_range(name, v, lo, hi, integer=False):
    if isinstance(v, bool) or not isinstance(v, (int, float)) or (integer and not isinstance(v, int)):
        raise Error(f"{name}: {v!r} is not {'an integer' if integer else 'a number'}")
    if not (lo <= v <= hi) or (not integer and not math.isfinite(v)):
        raise Error(f"{name}: {v} is out of range [{lo}, {hi}]")
    return v


class Model:
    """A GGUF model (Llama / Qwen2) with one context.

    Model(path, n_ctx=0, threads=0, n_seq_max=64, kv_f32=False): n_ctx is the KV cache size in
    tokens over all sequences (0: min(training context, 4096), as the CLI; best_of then grows it
    as `bon` does), threads the worker threads (0: all cores)."""

    def __init__(self, path, n_ctx=0, threads=0, n_seq_max=64, kv_f32=False):
        self._m = None
        self._ctxs = {}
        self._engines = {}
        self._lock = threading.RLock()
        if not isinstance(path, (str, bytes, os.PathLike)):
            raise Error(f"model path: expected a file name, got {type(path).__name__}")
        _check_range("n_ctx", n_ctx, 0, 1 << 22, integer=True)
        _check_range("threads", threads, 0, 1024, integer=True)
        _check_range("n_seq_max", n_seq_max, 1, 4096, integer=True)
        err = _lib.errbuf()
        m = lib.ss_model_load(os.fsencode(path), err, _lib.ERRLEN)
        if not m:
            raise Error(_lib.errmsg(err))
        self._m = m
        hp = lib.ss_model_hparams(m).contents
        self.n_vocab, self.n_embd, self.n_layer = hp.n_vocab, hp.n_embd, hp.n_layer
        self.n_ctx_train = hp.n_ctx_train
        self.name = lib.ss_model_name(m).decode("utf-8", "replace")
        self.path = lib.ss_model_path(m).decode("utf-8", "replace")
        self.arch = lib.ss_model_arch_name(m).decode()
        self.fingerprint = lib.ss_model_fingerprint(m)
        self._vocab = lib.ss_model_vocab(m)
        self._n_ctx, self._threads, self._n_seq_max, self._kv_f16 = n_ctx, threads, n_seq_max, int(not kv_f32)
        self._ctx = self._context(n_ctx, n_seq_max)      # the default context (errors show now)

    def __repr__(self):
        state = "" if self._m else ", closed"
        return (f"Model({self.path!r}, arch={self.arch!r}, n_layer={self.n_layer}, n_embd={self.n_embd}, "
                f"n_vocab={self.n_vocab}{state})")

    # ------------------------------------------------------------ lifetime
    def close(self):
        """Free the contexts and the model (also done by `with` and on garbage collection)."""
        with self._lock:
            for e in self._engines.values():      # (an engine uses its context: freed first)
                lib.ss_engine_free(e)
            self._engines.clear()
            for c in self._ctxs.values():
                lib.ss_ctx_free(c)
            self._ctxs.clear()
            if self._m:
                lib.ss_model_free(self._m)
                self._m = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __del__(self):
        try:
            self.close()
        except Exception:
            pass

    def _live(self):
        if not self._m:
            raise Error("the model is closed")

    def _context(self, n_ctx, n_seq_max):
        """The context with these sizes (made on first use; n_ctx 0 = the library's default)."""
        key = (n_ctx, n_seq_max)
        c = self._ctxs.get(key)
        if c is None:
            p = _lib.ss_ctx_params()
            lib.ss_ctx_params_default(byref(p))
            p.n_ctx, p.n_threads, p.n_seq_max, p.kv_f16 = n_ctx, self._threads, n_seq_max, self._kv_f16
            err = _lib.errbuf()
            c = lib.ss_ctx_new(self._m, byref(p), err, _lib.ERRLEN)
            if not c:
                raise Error(_lib.errmsg(err))
            self._ctxs[key] = c
        return c

    @property
    def n_ctx(self):
        """KV cache size (tokens) of the default context."""
        return lib.ss_ctx_n_ctx(self._ctx)

    @property
    def kv_pages_used(self):
        """KV cache pages in use in the default context (0 when no generation is running)."""
        return lib.ss_kv_pages_used(self._ctx)

    @property
    def threads(self):
        return lib.ss_ctx_n_threads(self._ctx)

    def _ctx_error(self, c):
        return Error(lib.ss_ctx_error(c).decode("utf-8", "replace"))

    def _set_layers(self, c, layers, norm):
        """Make the context capture these layers (set at every use: the engine sets its own for a
        SWIFT head and clears them after)."""
        arr = (c_int * max(len(layers), 1))(*layers)
        if lib.ss_ctx_set_layers(c, arr if layers else None, len(layers), bool(norm)):
            raise self._ctx_error(c)

    # ------------------------------------------------------------ text
    def tokenize(self, text, special=False, add_bos=None):
        """Token ids of text. special: control-token texts in the text are those tokens;
        add_bos: prepend BOS (None: the model's default)."""
        self._live()
        if not isinstance(text, str):
            raise Error(f"tokenize: expected str, got {type(text).__name__}")
        b = text.encode("utf-8")
        bos = lib.ss_vocab_add_bos(self._vocab) if add_bos is None else bool(add_bos)
        buf, n = _lib.fill_buffer(lambda out, cap: lib.ss_tokenize(self._vocab, b, len(b), bos, bool(special), out, cap),
                                  _lib.ss_token, len(b) + 8)
        if n < 0:
            raise Error("tokenize failed")
        return list(buf[:n])

    def _prompt_tokens(self, prompt):
        """A prompt as the CLI tokenizes it (ss_tokenize_prompt), or token ids / chat messages."""
        if isinstance(prompt, str):
            b = prompt.encode("utf-8")
            buf, n = _lib.fill_buffer(lambda out, cap: lib.ss_tokenize_prompt(self._vocab, b, out, cap),
                                      _lib.ss_token, len(b) + 8)
            if n < 0:
                raise Error("tokenize failed")
            return list(buf[:n])
        if isinstance(prompt, (list, tuple)) and prompt and all(isinstance(x, dict) for x in prompt):
            return self._prompt_tokens(self.chat_prompt(prompt))
        return self._check_ids(prompt, "prompt")

    def _check_ids(self, ids, what):
        try:
            ids = [int(t) for t in ids]
        except (TypeError, ValueError):
            raise Error(f"{what}: expected text or a list of token ids") from None
        for i, t in enumerate(ids):
            if not 0 <= t < self.n_vocab:
                raise Error(f"{what}: token {t} at position {i} is outside the vocabulary (0..{self.n_vocab - 1})")
        return ids

    def detokenize(self, ids):
        """Text of token ids, as llama.cpp's llama_detokenize (control tokens print nothing)."""
        self._live()
        ids = self._check_ids(ids, "detokenize")
        d = _lib.ss_detok()
        lib.ss_detok_begin(byref(d), self._vocab)
        out = bytearray()
        buf = ctypes.create_string_buffer(_PIECE_CAP)
        for t in ids:
            n = lib.ss_detok_push(byref(d), self._vocab, t, buf, _PIECE_CAP)
            if n > _PIECE_CAP:
                big = ctypes.create_string_buffer(n)
                n = lib.ss_detok_push(byref(d), self._vocab, t, big, n)
                out += big.raw[:n]
            elif n > 0:
                out += buf.raw[:n]
        n = lib.ss_detok_flush(byref(d), buf, _PIECE_CAP)
        if n > 0:
            out += buf.raw[:n]
        return out.decode("utf-8", "replace")

    def chat_prompt(self, messages, add_generation_prompt=True, template=None):
        """Render [{"role": ..., "content": ...}, ...] with the model's chat template (or the
        reference template of a family: "chatml", "llama3", ...), with the assistant's generation
        prompt. The text may start with BOS; generate() tokenizes it as the CLI's --chat does."""
        self._live()
        if not isinstance(messages, (list, tuple)) or not messages:
            raise Error("chat_prompt: expected a non-empty list of {'role', 'content'} messages")
        msgs = (_lib.ss_chat_msg * len(messages))()
        keep = []
        for i, mm in enumerate(messages):
            if not isinstance(mm, dict) or not isinstance(mm.get("role"), str) or not isinstance(mm.get("content"), str):
                raise Error(f"chat_prompt: message {i} is not a {{'role': str, 'content': str}} dict")
            r, t = mm["role"].encode(), mm["content"].encode("utf-8")
            keep += [r, t]
            msgs[i].role, msgs[i].content = r, t
        fam = 0
        if template is not None:
            fam = lib.ss_chat_family_from_name(str(template).encode())
            if fam == 0:
                raise Error(f"chat_prompt: unknown template family '{template}'")
        elif lib.ss_model_chat_family(self._m) == 0:
            raise Error(f"{self.path}: the model has no recognised tokenizer.chat_template; "
                        "give the prompt raw or name a template family")
        err = _lib.errbuf()
        s = lib.ss_model_chat_render(self._m, fam, msgs, len(messages), bool(add_generation_prompt), err, _lib.ERRLEN)
        if not s:
            raise Error("chat template: " + _lib.errmsg(err))
        return _lib.take_string(s)

    # ------------------------------------------------------------ hidden states
    def hidden_states(self, text, layers=None, norm=False):
        """Hidden states of every position of text (a prompt string, tokenized as generate does, or
        token ids), numbered as Hugging Face's output_hidden_states: 0 = embedding output,
        i = output of block i, n_layer = the final state after the output norm.
        layers: None (all, 0..n_layer) or a list -> array [len(layers), T, n_embd]; an int -> [T, n_embd].
        norm: apply the final RMSNorm to every returned layer (SWIFT's --swift-norm features).
        float32 numpy arrays when numpy is installed, nested lists otherwise."""
        self._live()
        single = isinstance(layers, int) and not isinstance(layers, bool)
        ls = list(range(self.n_layer + 1)) if layers is None else [layers] if single else list(layers)
        if not ls:
            raise Error("hidden_states: no layers requested")
        for l in ls:
            if isinstance(l, bool) or not isinstance(l, int) or not 0 <= l <= self.n_layer:
                raise Error(f"hidden_states: layer {l!r} is out of range 0..{self.n_layer}")
        toks = self._prompt_tokens(text)
        T, D, L = len(toks), self.n_embd, len(ls)
        if T < 1:
            raise Error("hidden_states: empty text")
        out = (c_float * (L * T * D))()
        with self._lock:
            c = self._ctx
            if T > lib.ss_ctx_n_ctx(c):
                raise Error(f"hidden_states: {T} tokens exceed the context of {lib.ss_ctx_n_ctx(c)} tokens (Model(n_ctx=...))")
            self._set_layers(c, ls, norm)
            seq = lib.ss_seq_new(c)
            if seq < 0:
                raise self._ctx_error(c)
            b = _Batch(_DUMP_CHUNK)
            try:
                for t0 in range(0, T, _DUMP_CHUNK):
                    n = min(_DUMP_CHUNK, T - t0)
                    b.clear()
                    for i in range(n):
                        b.add(seq, t0 + i, toks[t0 + i], _OUT_LAYERS)
                    if lib.ss_decode(c, b.ptr):
                        raise self._ctx_error(c)
                    for i in range(n):
                        x = lib.ss_get_layers(c, i)
                        for k in range(L):   # entry layout [L, D] -> out[k, t, :]
                            ctypes.memmove(ctypes.addressof(out) + 4 * ((k * T + t0 + i) * D), _at(x, k * D), 4 * D)
            finally:
                lib.ss_seq_free(c, seq)
        arr = shaped(out, (L, T, D))
        return arr[0] if single else arr

    # ------------------------------------------------------------ generation
    def generate(self, prompt, max_tokens=256, temperature=None, top_p=None, top_k=None, min_p=None,
                 seed=0, stop=None, slot=None, stream=False, ignore_eos=False, **sampling):
        """Generate a completion of prompt (text, token ids, or chat messages).
        Sampling (llama.cpp's chain and defaults: temperature 0.8, top_k 40, top_p 0.95,
        min_p 0.05; temperature 0 = greedy; also repeat_penalty, repeat_last_n, presence_penalty,
        frequency_penalty), seed, stop (a string or a list), max_tokens (-1: until the context
        ends). slot: None, or dict(steps=, lr=, beta1=, beta2=, eps=, wd=) to run SLOT on the prompt.
        Returns a Result; with stream=True, a Stream that yields the text pieces."""
        kw = dict(temperature=temperature, top_p=top_p, top_k=top_k, min_p=min_p, seed=seed, **sampling)
        gen = self._run(prompt, 1, max_tokens, kw, stop, slot, None, ignore_eos, self._n_ctx, self._n_seq_max, stream)
        if stream:
            return Stream(gen)
        return _drain(gen)[0]

    def stream(self, prompt, **kw):
        """generate(prompt, stream=True, **kw): iterate over the text pieces as they are generated."""
        return self.generate(prompt, stream=True, **kw)

    def best_of(self, prompt, n=8, select=None, head=None, max_tokens=256, stop=None, slot=None,
                ignore_eos=False, early_stop=False, adaptive=None, adaptive_conf=None, adaptive_agree=None,
                adaptive_tokp=None, adaptive_margin=None, adaptive_gamma=None, **sampling):
        """Best-of-N as `slotswift bon --json`: n candidates (candidate i samples with seed + i)
        from one prefill (SLOT once on the prompt if slot is given), then one is selected by
        "vote" (self-consistency over extracted answers; the default), "logprob" (highest mean
        token log-probability), "swift" (highest reward of a SWIFT head: the default when head is
        given) or "first". head: a Head or a head file. With select "vote": early_stop=True stops
        the unfinished candidates once the finished ones decide the vote (`bon --early-stop`);
        adaptive=True (first wave of the library's default) or K (`bon --adaptive-wave K`) starts
        candidates in waves while the answer is undecided, with adaptive_conf / adaptive_agree /
        adaptive_tokp / adaptive_margin / adaptive_gamma as `--adaptive-conf` / `--adaptive-agree` /
        `--adaptive-tokp` / `--adaptive-margin` / `--adaptive-gamma` (None: the defaults; with a
        margin the selection is the confidence-weighted vote, ss_select_weighted_vote); stopped
        candidates are marked "stopped": True and have no answer. Returns a
        BestOf (a dict equal to bon's JSON, with .results and .text)."""
        self._live()
        _check_range("n", n, 1, 1024, integer=True)
        if head is not None and not isinstance(head, Head):
            head = Head.load(head)
        if select is None:
            select = "swift" if head is not None else "vote"
        method = lib.ss_select_parse(str(select).encode())
        if method < 0:
            raise Error(f"best_of: select: unknown method '{select}' (swift, vote, first, logprob)")
        if method == 3 and head is None:
            raise Error("best_of: select='swift' needs a SWIFT head (head=...)")
        vote = self._vote_params(method, early_stop, adaptive, adaptive_conf, adaptive_agree, adaptive_tokp,
                                 adaptive_margin, adaptive_gamma)
        if head is not None and head.conf:
            raise Error(f"{head.path or 'head'}: the head reads the confidence features (--swift-conf), which this "
                        "package does not compute: use `slotswift bon --swift` or the server")
        if head is not None:
            err = _lib.errbuf()
            if lib.ss_model_check_head(self._m, byref(head._h), err, _lib.ERRLEN):
                raise Error(f"{head.path or 'head'}: {_lib.errmsg(err)}")
        n_ctx = self._n_ctx
        if n_ctx == 0:   # as bon: room for every candidate's tokens in the shared KV cache
            need = 512 + n * (1024 if max_tokens < 0 else max_tokens + 2)
            n_ctx = max(need, 4096)
        n_seq = max(self._n_seq_max, n + 2)
        res = _drain(self._run(prompt, n, max_tokens, sampling, stop, slot, head, ignore_eos, n_ctx, n_seq, False, vote))
        answers = [None if r.stopped else _lib.answer_extract(r.text) for r in res]
        enc = [a.encode("utf-8") if a is not None else None for a in answers]
        ans_arr = (c_char_p * n)(*enc)
        votes = (c_int * n)()
        lib.ss_select_votes(ans_arr, n, votes)
        # the mean log-probability as the CLI computes it: a double sum of float log-probs
        lp_mean = [r.logprob_mean for r in res]
        sw = (c_float * n)(*[r.swift if r.swift is not None else 0.0 for r in res])
        sel = lib.ss_select_pick(method, ans_arr, (c_double * n)(*lp_mean), sw, None, n)
        if vote[1] and vote[5] > 0:   # adaptive with a margin: the weighted vote's choice (as bon)
            gamma = ctypes.c_float(vote[6] or _ADAPTIVE_GAMMA).value   # (the float of ss_gen_params)
            w = lib.ss_select_weighted_vote(ans_arr, (c_double * n)(*lp_mean), n, gamma, None)
            sel = w if w >= 0 else sel
        f32 = lambda x: ctypes.c_float(x).value
        cands = [{"text": r.text, "answer": answers[i], "tokens": len(r.tokens),
                  "logprob_mean": _json_float(f32(lp_mean[i])),
                  "logprob_min": _json_float(f32(r.logprob_min)),
                  "swift": _json_float(r.swift) if head is not None else None,
                  "votes": votes[i], **({"stopped": True} if r.stopped else {})} for i, r in enumerate(res)]
        out = {"selected": sel, "select": lib.ss_select_name(method).decode(), "candidates": cands}
        if res and res[0].slot_losses is not None:   # SLOT's per-step report, as bon's "slot" object
            sp, r = self._slot_params(slot), res[0]
            out["slot"] = {"steps": sp.steps, "lr": sp.lr, "kl_max": sp.kl_max or (_SLOT_SAFE_KL_MAX if sp.safe else 0.0),
                           "min_gain": sp.min_gain, "steps_done": len(r.slot_losses),
                           "loss": list(r.slot_losses), "kl": [_json_float(x) for x in r.slot_kl],
                           "scale": list(r.slot_scale), "loss_after": _json_float(r.slot_loss_after)}
        return BestOf(out, res)

    # ------------------------------------------------------------ the generation loop
    @staticmethod
    def _vote_params(method, early_stop, adaptive, conf, agree, tokp, margin=None, gamma=None):
        """(early_stop, first wave, agree, conf, tokp, margin, gamma) for ss_gen_params, checked as
        bon checks its flags."""
        if not isinstance(early_stop, bool):
            raise Error("best_of: early_stop: expected True or False")
        wave = 0
        if adaptive is True:
            wave = _ADAPTIVE_WAVE
        elif adaptive not in (None, False):
            wave = _check_range("adaptive", adaptive, 1, 1024, integer=True)
        if (early_stop or wave) and method != _SELECT_VOTE:
            raise Error("best_of: early_stop and adaptive need select='vote'")
        vals = []
        for name, v, lo, hi in (("adaptive_agree", agree, 0, 1), ("adaptive_conf", conf, 0.01, 1),
                                ("adaptive_tokp", tokp, 0.01, 1), ("adaptive_margin", margin, 0, 1e6),
                                ("adaptive_gamma", gamma, 0.01, 1e6)):
            if v is not None:
                if not wave:
                    raise Error(f"best_of: {name} needs adaptive")
                v = _check_range(name, v, lo, hi)
            vals.append(v or 0.0)
        return (early_stop, wave, *vals)

    def _sampling_params(self, kw):
        p = _lib.ss_sampling_params()
        lib.ss_sampling_params_default(byref(p))
        for k in kw:
            if k not in _SAMPLING_KEYS:
                raise Error(f"unknown argument '{k}'")
        ranges = {"temperature": ("temp", 0, 100, False), "top_k": ("top_k", 0, 1 << 30, True),
                  "top_p": ("top_p", 0, 1, False), "min_p": ("min_p", 0, 1, False),
                  "repeat_penalty": ("repeat_penalty", 0, 100, False),
                  "repeat_last_n": ("repeat_last_n", 0, 1 << 20, True),
                  "presence_penalty": ("presence_penalty", -100, 100, False),
                  "frequency_penalty": ("frequency_penalty", -100, 100, False),
                  "seed": ("seed", 0, (1 << 64) - 1, True)}
        for k, v in kw.items():
            if v is None:
                continue
            field, lo, hi, integer = ranges[k]
            setattr(p, field, _check_range(k, v, lo, hi, integer))
        return p

    def _slot_params(self, slot):
        p = _lib.ss_slot_params()
        lib.ss_slot_params_default(byref(p))
        if slot is None:
            p.steps = 0
            return p
        if not isinstance(slot, dict):
            raise Error("slot: expected None or a dict(steps=, lr=, beta1=, beta2=, eps=, wd=, kl_max=, safe=, min_gain=)")
        ranges = {"steps": (0, 1000, True), "lr": (0, 1e3, False), "beta1": (0, 0.999999, False),
                  "beta2": (0, 0.999999, False), "eps": (1e-30, 1, False), "wd": (0, 1e3, False),
                  "kl_max": (0, 1e3, False), "min_gain": (0, 0.999999, False)}
        for k, v in slot.items():
            if k == "safe":
                if not isinstance(v, bool):
                    raise Error("slot safe: expected True or False")
                p.safe = v
                continue
            if k not in ranges:
                raise Error(f"slot: unknown key '{k}' ({', '.join(_SLOT_KEYS)})")
            lo, hi, integer = ranges[k]
            setattr(p, k, _check_range("slot " + k, v, lo, hi, integer))
        return p

    def _engine(self, c):
        """The step-wise engine (ss_engine_*) of context c: every generation on c is a request of
        it (made on first use; no prefix cache, so nothing stays in the KV cache after a run)."""
        e = self._engines.get(c)
        if e is None:
            ep = _lib.ss_engine_params()
            lib.ss_engine_params_default(byref(ep))
            ep.prefix_reuse = False
            err = _lib.errbuf()
            e = lib.ss_engine_new(c, byref(ep), err, _lib.ERRLEN)
            if not e:
                raise Error(_lib.errmsg(err))
            self._engines[c] = e
        return e

    def _run(self, prompt, n_cand, max_tokens, sampling, stop, slot, head, ignore_eos, n_ctx, n_seq_max, stream, vote=None):
        """Generator over the library's generation (ss_gen_params, one request of the context's
        engine, stepped by ss_engine_step with the GIL released): yields the text pieces of
        candidate 0 when stream (from the per-token callback), returns the list of Results.
        Closing it early cancels the request (its sequences are freed)."""
        self._live()
        gp = _lib.ss_gen_params()
        lib.ss_gen_params_default(byref(gp))
        gp.samp = self._sampling_params(sampling)
        gp.slot = self._slot_params(slot)
        stops = [stop] if isinstance(stop, str) else list(stop or [])
        for s in stops:
            if not isinstance(s, str) or not s:
                raise Error("stop: expected non-empty strings")
        stops_c = (c_char_p * max(len(stops), 1))(*[s.encode("utf-8") for s in stops])
        gp.stops, gp.n_stops = ctypes.cast(stops_c, ctypes.POINTER(c_char_p)), len(stops)
        _check_range("max_tokens", max_tokens, -1, 1 << 20, integer=True)
        gp.n_cand, gp.ignore_eos = n_cand, bool(ignore_eos)
        if vote is not None:   # 0 = the library's default threshold
            (gp.early_stop, gp.adaptive, gp.adaptive_agree, gp.adaptive_conf, gp.adaptive_tokp,
             gp.adaptive_margin, gp.adaptive_gamma) = vote
        if head is not None:
            gp.head = ctypes.pointer(head._h)
            gp.feat = ctypes.pointer(head._h.spec)
        toks = self._prompt_tokens(prompt)
        ctoks = (_lib.ss_token * max(len(toks), 1))(*toks)
        pieces = []
        if stream:   # the text each token of candidate 0 completed (the C buffer is valid during the call)
            def on_token(ud, req, cand, tok, piece, n, logprob):
                if cand == 0 and n > 0:
                    pieces.append(ctypes.string_at(piece, n))
                return 0
            gp.on_token = _lib.ss_token_cb(on_token)
        err = _lib.errbuf()
        with self._lock:
            c = self._context(n_ctx, n_seq_max)
            gp.n_predict = lib.ss_ctx_n_ctx(c) if max_tokens < 0 else max_tokens
            e = self._engine(c)
            req = lib.ss_engine_submit(e, ctoks, len(toks), byref(gp), err, _lib.ERRLEN)
            if req < 0:
                raise Error(_lib.errmsg(err))
        res = _lib.ss_gen_result()
        taken = False
        # a run that is not streamed holds the model for its whole duration (a SWIFT head's layers
        # stay set); a stream holds it for one step at a time, so streams and calls interleave
        whole = contextlib.nullcontext() if stream else self._lock
        try:
            with whole:
                while True:
                    with self._lock:
                        self._live()            # (closed while a stream was running)
                        st = lib.ss_engine_poll(e, req)
                        if st >= _lib.REQ_DONE:
                            rc = lib.ss_engine_take(e, req, byref(res), err, _lib.ERRLEN)
                            taken = True
                            if rc != 1:
                                raise Error(_lib.errmsg(err))
                            break
                        if lib.ss_engine_step(e, err, _lib.ERRLEN) < 0:
                            raise Error(_lib.errmsg(err))
                    if pieces:
                        out, pieces[:] = b"".join(pieces), []
                        yield out.decode("utf-8", "replace")
            results = [_result(res.cand[i], toks, res, gp.slot.steps, head) for i in range(res.n_cand)]
            return results
        finally:
            with self._lock:
                if not taken and self._m:   # stopped early: cancel and forget the request
                    lib.ss_engine_take(e, req, None, None, 0)
                lib.ss_gen_result_free(byref(res))


def _at(ptr, k):
    """Address of ptr[k] for a ctypes float pointer."""
    return ctypes.cast(ptr, ctypes.c_void_p).value + 4 * k


def _result(cd, prompt_tokens, res, slot_steps, head):
    """A Result from a candidate of an ss_gen_result (copied: the C result is freed after)."""
    r = Result()
    n = cd.n_tokens
    r._text_bytes = ctypes.string_at(cd.text) if cd.text else b""
    r.text = r._text_bytes.decode("utf-8", "replace")
    r.tokens = cd.tokens[:n] if n else []
    r.logprobs = cd.logprobs[:n] if n else []
    r._logprob_sum = cd.logprob_sum
    r.finish_reason = FINISH_REASONS[cd.finish]
    r.stopped = bool(cd.stopped)
    r.prompt_tokens = prompt_tokens
    if slot_steps > 0 and res.slot_losses:
        done = res.slot_steps   # < slot_steps when min_gain stopped SLOT early
        r.slot_losses = res.slot_losses[:done]
        r.slot_kl = res.slot_kl[:done]
        r.slot_scale = res.slot_scale[:done]
        r.slot_loss_after = res.slot_loss_after
    if head is not None:
        r.swift = cd.swift
    return r


def _drain(gen):
    """Run a generation generator to its end; its return value."""
    try:
        while True:
            next(gen)
    except StopIteration as e:
        return e.value


def _json_float(x):
    """A float as bon's JSON has it: null for NaN / inf."""
    return None if x is None or not math.isfinite(x) else x


class _Batch:
    """An ss_batch over arrays owned by Python (the library only reads it)."""

    def __init__(self, cap):
        self.cap = cap
        self.seq = (ctypes.c_int32 * cap)()
        self.pos = (ctypes.c_int32 * cap)()
        self.tok = (_lib.ss_token * cap)()
        self.out = (c_uint8 * cap)()
        self.b = _lib.ss_batch(0, cap, self.seq, self.pos, self.tok, self.out)
        self.ptr = byref(self.b)

    def clear(self):
        self.b.n = 0

    def add(self, seq, pos, tok, out):
        k = self.b.n
        if k >= self.cap:
            raise Error("batch full")
        self.seq[k], self.pos[k], self.tok[k], self.out[k] = seq, pos, tok, out
        self.b.n = k + 1
