"""_lib.py — ctypes bindings of libslotswift (include/slotswift.h): finding the shared library,
mirrors of the public structs, and the prototypes of the functions the package calls.

Only the public header's API is used. Every struct below mirrors its C definition field by field
(tests/python/test_layout.py compares sizes and offsets with the C compiler's)."""
import ctypes
import ctypes.util
import os
import sys
from ctypes import (POINTER, Structure, c_bool, c_char, c_char_p, c_double, c_float, c_int,
                    c_int32, c_int64, c_size_t, c_uint8, c_uint16, c_uint64, c_void_p)

API_VERSION = 2          # SS_API_VERSION this package is written for
ERRLEN = 512             # caller error buffers


class Error(Exception):
    """An error reported by libslotswift (its one-line message) or a bad argument."""


# ---------------------------------------------------------------- finding the library
_LIBNAME = "libslotswift.so" if sys.platform != "darwin" else "libslotswift.dylib"


def _candidates():
    """Where the shared library is looked for, in order."""
    env = os.environ.get("SLOTSWIFT_LIB")
    if env:                                   # explicit: only this one
        return [env]
    here = os.path.dirname(os.path.abspath(__file__))
    paths = [os.path.join(here, _LIBNAME)]    # beside the package (copied in before installing)
    # a source checkout: python/slotswift -> build/libslotswift.so
    paths.append(os.path.join(here, os.pardir, os.pardir, "build", _LIBNAME))
    found = ctypes.util.find_library("slotswift")   # installed (ldconfig cache, LD_LIBRARY_PATH)
    if found:
        paths.append(found)
    for d in ("/usr/local/lib", "/usr/local/lib64", "/usr/lib", "/usr/lib64",
              "/usr/lib/x86_64-linux-gnu", "/usr/lib/aarch64-linux-gnu"):
        paths.append(os.path.join(d, _LIBNAME))
    return paths


def _load():
    tried = []
    for p in _candidates():
        if os.sep in p and not os.path.exists(p):
            tried.append(p)
            continue
        try:
            lib = ctypes.CDLL(p)
        except OSError as e:
            raise Error(f"cannot load the slotswift library {p}: {e}") from None
        return lib, p
    raise Error("libslotswift.so not found (set SLOTSWIFT_LIB=/path/to/libslotswift.so; looked in: "
                + ", ".join(tried) + ")")


lib, lib_path = _load()

# ---------------------------------------------------------------- struct mirrors
ss_token = c_int32


class ss_hparams(Structure):
    _fields_ = [("arch", c_int), ("n_vocab", c_int), ("n_embd", c_int), ("n_layer", c_int),
                ("n_head", c_int), ("n_head_kv", c_int), ("head_dim", c_int), ("n_ff", c_int),
                ("n_ctx_train", c_int), ("rms_eps", c_float), ("rope_base", c_float),
                ("rope_scale", c_float), ("rope_neox", c_int), ("rope_llama3", c_int),
                ("has_qkv_bias", c_int), ("tied_output", c_int)]


class ss_ctx_params(Structure):
    _fields_ = [("n_ctx", c_int), ("n_seq_max", c_int), ("n_batch", c_int), ("n_threads", c_int),
                ("kv_f16", c_int), ("force_scalar", c_int), ("kv_type_k", c_int), ("kv_type_v", c_int)]


class ss_batch(Structure):
    _fields_ = [("n", c_int), ("cap", c_int), ("seq", POINTER(c_int32)), ("pos", POINTER(c_int32)),
                ("tok", POINTER(ss_token)), ("out", POINTER(c_uint8))]


class ss_sampling_params(Structure):
    _fields_ = [("temp", c_float), ("top_k", c_int), ("top_p", c_float), ("min_p", c_float),
                ("repeat_penalty", c_float), ("repeat_last_n", c_int), ("presence_penalty", c_float),
                ("frequency_penalty", c_float), ("seed", c_uint64)]


class ss_detok(Structure):
    _fields_ = [("pending", c_char * 8), ("n_pending", c_int), ("lstrip", c_int)]


class ss_chat_msg(Structure):
    _fields_ = [("role", c_char_p), ("content", c_char_p)]


class ss_slot_params(Structure):
    _fields_ = [("steps", c_int), ("lr", c_float), ("beta1", c_float), ("beta2", c_float),
                ("eps", c_float), ("wd", c_float), ("no_loss_after", c_bool), ("max_bytes", c_size_t),
                ("e_range", c_float), ("ws", c_void_p), ("kern", c_void_p),
                ("kl_max", c_float), ("safe", c_bool), ("min_gain", c_float)]


class ss_slot_result(Structure):
    _fields_ = [("loss_before", POINTER(c_float)), ("loss_after", c_float), ("seconds", c_double),
                ("peak_bytes", c_size_t), ("kl", POINTER(c_float)), ("scale", POINTER(c_float)),
                ("steps_done", c_int)]


class ss_swift_spec(Structure):
    _fields_ = [("layers", c_char * 256), ("n_layers", c_int), ("layer", c_int * 256),
                ("norm", c_bool), ("logits", c_bool), ("dim", c_int), ("conf", c_bool)]


class ss_swift_head(Structure):
    _fields_ = [("spec", ss_swift_spec), ("dim", c_int), ("W", POINTER(c_float)), ("b", c_float * 2),
                ("no_gate", c_bool), ("model_name", c_char * 256), ("model_fingerprint", c_uint64),
                ("train_info", c_char * 2048), ("val_metrics", c_char * 1024)]


class ss_swift_acc(Structure):
    _fields_ = [("sum_gr", c_double), ("sum_g", c_double), ("sum_r", c_double), ("n", c_int)]


# int (*ss_token_cb)(void *ud, int req, int cand, ss_token tok, const char *piece, int n, float logprob)
ss_token_cb = ctypes.CFUNCTYPE(c_int, c_void_p, c_int, c_int, ss_token, POINTER(c_char), c_int, c_float)


class ss_gen_params(Structure):
    _fields_ = [("n_predict", c_int), ("n_cand", c_int), ("ignore_eos", c_bool),
                ("stops", POINTER(c_char_p)), ("n_stops", c_int), ("samp", ss_sampling_params),
                ("slot", ss_slot_params), ("slot_mask", POINTER(c_uint8)), ("feat", POINTER(ss_swift_spec)),
                ("head", POINTER(ss_swift_head)), ("keep_features", c_bool), ("features_f16", c_bool),
                ("on_piece", c_void_p), ("on_token", ss_token_cb), ("ud", c_void_p), ("on_logits", c_void_p),
                ("early_stop", c_bool), ("adaptive", c_int), ("adaptive_agree", c_float),
                ("adaptive_conf", c_float), ("adaptive_tokp", c_float), ("adaptive_margin", c_float),
                ("adaptive_gamma", c_float)]


class ss_gen_cand(Structure):
    _fields_ = [("text", c_void_p), ("tokens", POINTER(c_int32)), ("n_tokens", c_int),
                ("logprobs", POINTER(c_float)), ("logprob_sum", c_double), ("logprob_min", c_float),
                ("finish", c_int), ("swift", c_float), ("features", c_void_p), ("n_feat_rows", c_int),
                ("stopped", c_bool)]


class ss_gen_result(Structure):
    _fields_ = [("n_prompt", c_int), ("cand", POINTER(ss_gen_cand)), ("n_cand", c_int),
                ("t_prompt", c_double), ("t_slot", c_double), ("t_gen", c_double), ("t_swift", c_double),
                ("n_gen_tokens", c_int), ("slot_losses", POINTER(c_float)), ("slot_loss_after", c_float),
                ("slot_peak_bytes", c_size_t), ("n_reused", c_int),
                ("slot_kl", POINTER(c_float)), ("slot_scale", POINTER(c_float)), ("slot_steps", c_int)]


class ss_engine_params(Structure):
    _fields_ = [("max_running", c_int), ("max_queue", c_int), ("prefill_chunk", c_int),
                ("prefix_reuse", c_bool), ("prefix_slots", c_int)]


# enum ss_req_state
REQ_QUEUED, REQ_PREFILL, REQ_SLOT, REQ_DECODE, REQ_DONE, REQ_CANCELLED, REQ_FAILED = range(7)

# every mirrored struct by its C name (for the layout test)
STRUCTS = {c.__name__: c for c in (ss_hparams, ss_ctx_params, ss_batch, ss_sampling_params, ss_detok,
                                   ss_chat_msg, ss_slot_params, ss_slot_result, ss_swift_spec,
                                   ss_swift_head, ss_swift_acc, ss_gen_params, ss_gen_cand, ss_gen_result,
                                   ss_engine_params)}

# ---------------------------------------------------------------- prototypes
P = c_void_p            # opaque handles (ss_model *, ss_ctx *, ss_vocab *, ss_sampler *)
FP = POINTER(c_float)
_protos = {
    "ss_api_version": (c_int, []),
    "ss_free": (None, [c_void_p]),
    "ss_model_load": (P, [c_char_p, c_char_p, c_size_t]),
    "ss_model_free": (None, [P]),
    "ss_model_hparams": (POINTER(ss_hparams), [P]),
    "ss_model_name": (c_char_p, [P]),
    "ss_model_path": (c_char_p, [P]),
    "ss_model_arch_name": (c_char_p, [P]),
    "ss_model_fingerprint": (c_uint64, [P]),
    "ss_model_vocab": (P, [P]),
    "ss_ctx_params_default": (None, [POINTER(ss_ctx_params)]),
    "ss_ctx_new": (P, [P, POINTER(ss_ctx_params), c_char_p, c_size_t]),
    "ss_ctx_free": (None, [P]),
    "ss_ctx_error": (c_char_p, [P]),
    "ss_ctx_n_ctx": (c_int, [P]),
    "ss_ctx_n_threads": (c_int, [P]),
    "ss_seq_new": (c_int, [P]),
    "ss_seq_free": (None, [P, c_int]),
    "ss_kv_pages_used": (c_int, [P]),
    "ss_ctx_set_layers": (c_int, [P, POINTER(c_int), c_int, c_bool]),
    "ss_decode": (c_int, [P, POINTER(ss_batch)]),
    "ss_get_layers": (FP, [P, c_int]),
    "ss_vocab_bos": (ss_token, [P]),
    "ss_vocab_add_bos": (c_bool, [P]),
    "ss_tokenize": (c_int, [P, c_char_p, c_size_t, c_bool, c_bool, POINTER(ss_token), c_int]),
    "ss_tokenize_prompt": (c_int, [P, c_char_p, POINTER(ss_token), c_int]),
    "ss_token_to_piece": (c_int, [P, ss_token, c_char_p, c_int, c_bool]),
    "ss_detok_begin": (None, [POINTER(ss_detok), P]),
    "ss_detok_push": (c_int, [POINTER(ss_detok), P, ss_token, c_char_p, c_int]),
    "ss_detok_flush": (c_int, [POINTER(ss_detok), c_char_p, c_int]),
    "ss_chat_family_from_name": (c_int, [c_char_p]),
    "ss_model_chat_family": (c_int, [P]),
    "ss_model_chat_render": (c_void_p, [P, c_int, POINTER(ss_chat_msg), c_int, c_bool, c_char_p, c_size_t]),
    "ss_sampling_params_default": (None, [POINTER(ss_sampling_params)]),
    "ss_slot_params_default": (None, [POINTER(ss_slot_params)]),
    "ss_swift_spec_parse": (c_int, [POINTER(ss_swift_spec), c_char_p, c_bool, c_bool, c_int, c_int, c_int,
                                    c_char_p, c_size_t]),
    "ss_swift_head_init": (c_int, [POINTER(ss_swift_head), POINTER(ss_swift_spec)]),
    "ss_swift_head_free": (None, [POINTER(ss_swift_head)]),
    "ss_swift_head_save": (c_int, [POINTER(ss_swift_head), c_char_p, c_char_p, c_size_t]),
    "ss_swift_head_load": (c_int, [POINTER(ss_swift_head), c_char_p, c_char_p, c_size_t]),
    "ss_model_check_head": (c_int, [P, POINTER(ss_swift_head), c_char_p, c_size_t]),
    "ss_swift_reward": (c_float, [POINTER(ss_swift_head), FP, c_int]),
    "ss_gen_params_default": (None, [POINTER(ss_gen_params)]),
    "ss_gen_result_free": (None, [POINTER(ss_gen_result)]),
    "ss_engine_params_default": (None, [POINTER(ss_engine_params)]),
    "ss_engine_new": (P, [P, POINTER(ss_engine_params), c_char_p, c_size_t]),
    "ss_engine_free": (None, [P]),
    "ss_engine_submit": (c_int, [P, POINTER(ss_token), c_int, POINTER(ss_gen_params), c_char_p, c_size_t]),
    "ss_engine_step": (c_int, [P, c_char_p, c_size_t]),
    "ss_engine_poll": (c_int, [P, c_int]),
    "ss_engine_take": (c_int, [P, c_int, POINTER(ss_gen_result), c_char_p, c_size_t]),
    "ss_answer_extract": (c_void_p, [c_char_p]),
    "ss_select_parse": (c_int, [c_char_p]),
    "ss_select_name": (c_char_p, [c_int]),
    "ss_select_votes": (None, [POINTER(c_char_p), c_int, POINTER(c_int)]),
    "ss_select_pick": (c_int, [c_int, POINTER(c_char_p), POINTER(c_double), FP, POINTER(c_int), c_int]),
    "ss_select_weighted_vote": (c_int, [POINTER(c_char_p), POINTER(c_double), c_int, c_double, POINTER(c_double)]),
}
_missing = [n for n in _protos if not hasattr(lib, n)]
if _missing:
    raise Error(f"{lib_path}: not a usable libslotswift (missing {', '.join(_missing)})")
for _name, (_res, _args) in _protos.items():
    _f = getattr(lib, _name)
    _f.restype = _res
    _f.argtypes = _args
if lib.ss_api_version() != API_VERSION:
    raise Error(f"{lib_path}: API version {lib.ss_api_version()}, this package needs {API_VERSION}")


# ---------------------------------------------------------------- small helpers
def errbuf():
    return ctypes.create_string_buffer(ERRLEN)


def errmsg(buf):
    return buf.value.decode("utf-8", "replace")


def take_string(ptr):
    """A library-allocated string (void *) as str, freed with ss_free; None for NULL."""
    if not ptr:
        return None
    s = ctypes.string_at(ptr)
    lib.ss_free(ptr)
    return s.decode("utf-8", "replace")


def answer_extract(text):
    """ss_answer_extract: the last \\boxed{...} or the last number of a response, or None."""
    return take_string(lib.ss_answer_extract(text.encode("utf-8")))


def fill_buffer(call, elem, first_cap):
    """The library's buffer convention: call(buf, cap) returns the full length needed; retry once."""
    cap = max(first_cap, 1)
    buf = (elem * cap)()
    n = call(buf, cap)
    if n > cap:
        cap = n
        buf = (elem * cap)()
        n = call(buf, cap)
    return buf, n
