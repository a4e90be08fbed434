"""slotswift — Python bindings (ctypes) of libslotswift: GGUF inference with SLOT and SWIFT.

    import slotswift
    with slotswift.Model("model.gguf") as m:
        r = m.generate(m.chat_prompt([{"role": "user", "content": "2 + 3 = ?"}]), max_tokens=64, seed=1)
        print(r.text, r.logprobs)
        best = m.best_of("...", n=8, select="vote")

The shared library is found via $SLOTSWIFT_LIB, beside this package, in a source checkout's
build/, or installed (ldconfig / the standard lib directories)."""
from ._lib import Error, lib_path
from .head import Head
from .model import BestOf, Model, Result, Stream

__all__ = ["Model", "Head", "Error", "Result", "BestOf", "Stream", "lib_path"]
__version__ = "0.1.0"
