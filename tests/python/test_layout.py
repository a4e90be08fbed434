"""The ctypes mirrors of the public structs have the C compiler's sizes and field offsets
(a small C program compiled against include/slotswift.h prints them)."""
import ctypes
import os
import subprocess

from conftest import PLAIN_ENV, ROOT


def test_struct_layout(tmp_path):
    from slotswift import _lib
    src = ['#include <stdio.h>', '#include <stddef.h>', '#include "slotswift.h"', 'int main(void) {']
    for name, st in _lib.STRUCTS.items():
        cname = "struct ss_swift_head" if name == "ss_swift_head" else name
        src.append(f'printf("{name} size %zu\\n", sizeof({cname}));')
        for f in st._fields_:
            src.append(f'printf("{name}.{f[0]} %zu\\n", offsetof({cname}, {f[0]}));')
    src.append("return 0; }")
    c = tmp_path / "layout.c"
    c.write_text("\n".join(src) + "\n")
    exe = tmp_path / "layout"
    subprocess.run(["cc", "-I", os.path.join(ROOT, "include"), str(c), "-o", str(exe)], check=True, env=PLAIN_ENV)
    want = dict(l.rsplit(" ", 1) for l in subprocess.run([str(exe)], capture_output=True, text=True, check=True, env=PLAIN_ENV).stdout.splitlines())
    got = {}
    for name, st in _lib.STRUCTS.items():
        got[f"{name} size"] = str(ctypes.sizeof(st))
        for f in st._fields_:
            got[f"{name}.{f[0]}"] = str(getattr(st, f[0]).offset)
    assert got == want


def test_api_version_and_gil(slotswift):
    from slotswift import _lib
    assert _lib.lib.ss_api_version() == _lib.API_VERSION
    # a CDLL (not a PyDLL): ctypes releases the GIL around every call into the library
    assert type(_lib.lib) is ctypes.CDLL
