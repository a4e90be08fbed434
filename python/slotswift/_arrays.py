"""_arrays.py — numpy when it is installed, plain lists otherwise."""
import ctypes

from ._lib import Error

try:
    import numpy as np
except ImportError:          # numpy is optional
    np = None


def floats_from(ptr, n):
    """n floats at a C float pointer, copied: a float32 numpy array (or a list)."""
    if np is not None:
        return np.ctypeslib.as_array(ptr, shape=(n,)).copy()
    return ptr[:n]


def to_float_buffer(x, n=None, what="array"):
    """A flat ctypes float array from a numpy array / nested lists, checking the length."""
    if np is not None:
        a = np.ascontiguousarray(np.asarray(x, dtype=np.float32)).ravel()
        flat = a
    else:
        flat = list(_flatten(x))
    if n is not None and len(flat) != n:
        raise Error(f"{what}: {len(flat)} values, expected {n}")
    buf = (ctypes.c_float * len(flat))()
    if np is not None:
        ctypes.memmove(buf, a.ctypes.data, a.nbytes)
    else:
        for i, v in enumerate(flat):
            buf[i] = float(v)
    return buf


def _flatten(x):
    for v in x:
        if isinstance(v, (list, tuple)):
            yield from _flatten(v)
        else:
            yield v


def shaped(flat_buf, shape):
    """A ctypes float buffer as an array of `shape` (numpy) or nested lists."""
    if np is not None:
        return np.ctypeslib.as_array(flat_buf).reshape(shape).copy()
    vals = list(flat_buf)

    def build(off, dims):
        if len(dims) == 1:
            return vals[off:off + dims[0]]
        step = 1
        for d in dims[1:]:
            step *= d
        return [build(off + i * step, dims[1:]) for i in range(dims[0])]
    return build(0, list(shape))
