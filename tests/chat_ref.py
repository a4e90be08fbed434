#!/usr/bin/python3
"""chat_ref.py — the independent reference for chat-template rendering: Jinja2 itself, set up the
way Hugging Face transformers renders tokenizer.chat_template (ImmutableSandboxedEnvironment with
trim_blocks and lstrip_blocks, loopcontrols, raise_exception and strftime_now globals, a tojson
filter, tools=None / documents=None).

Usage:
  chat_ref.py batch JOBS.json     -> prints a JSON list with one result per job
  chat_ref.py render TEMPLATE MESSAGES.json [--no-gen] [--bos S] [--eos S]   (manual use)

A job is either
  {"template": SRC, "messages": [{"role":..,"content":..}], "add_generation_prompt": bool,
   "bos_token": str, "eos_token": str, "date": "YYYY-MM-DD" (optional: what strftime_now sees)}
  -> {"ok": true, "text": RENDERED} or {"ok": false, "syntax": bool, "error": MESSAGE}
or
  {"gguf": PATH}  -> {"ok": true, "text": tokenizer.chat_template} or {"ok": false, "error": ...}
                     (read here with a few lines of struct, independent of src/gguf.c)

Exit status: 0 ok, 1 bad usage / input, 2 jinja2 is not installed.
"""
import datetime
import json
import struct
import sys

try:
    import jinja2
    from jinja2.sandbox import ImmutableSandboxedEnvironment
    import jinja2.ext
except ImportError:
    sys.stderr.write("chat_ref.py: python3-jinja2 is not installed (apt-get install python3-jinja2); "
                     "it is the reference for the chat-template tests\n")
    sys.exit(2)


def make_env(now):
    def raise_exception(message):
        raise jinja2.exceptions.TemplateError(message)

    def tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False):
        return json.dumps(x, ensure_ascii=ensure_ascii, indent=indent, separators=separators,
                          sort_keys=sort_keys)

    def strftime_now(fmt):
        return now.strftime(fmt)

    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True,
                                        extensions=[jinja2.ext.loopcontrols])
    env.filters["tojson"] = tojson
    env.globals["raise_exception"] = raise_exception
    env.globals["strftime_now"] = strftime_now
    return env


_compiled = {}


def render(job):
    date = job.get("date")
    now = datetime.datetime.strptime(date, "%Y-%m-%d") if date else datetime.datetime.now()
    src = job["template"]
    try:
        key = (src, date)
        if key not in _compiled:
            _compiled[key] = make_env(now).from_string(src)
        tmpl = _compiled[key]
    except jinja2.exceptions.TemplateSyntaxError as e:
        return {"ok": False, "syntax": True, "error": "syntax: %s" % e}
    try:
        text = tmpl.render(messages=job["messages"], tools=None, documents=None,
                           add_generation_prompt=job.get("add_generation_prompt", True),
                           bos_token=job.get("bos_token", ""), eos_token=job.get("eos_token", ""))
    except Exception as e:   # raise_exception(), undefined attributes, type errors: all "the template raised"
        return {"ok": False, "syntax": False, "error": "%s: %s" % (type(e).__name__, e)}
    return {"ok": True, "text": text}


def gguf_chat_template(path):
    """tokenizer.chat_template from a GGUF v2/v3 file (only the key/value section is read)."""
    scalar = {0: "B", 1: "b", 2: "H", 3: "h", 4: "I", 5: "i", 6: "f", 7: "?", 10: "Q", 11: "q", 12: "d"}
    with open(path, "rb") as f:
        def rd(fmt):
            n = struct.calcsize("<" + fmt)
            b = f.read(n)
            if len(b) != n:
                raise ValueError("truncated file")
            return struct.unpack("<" + fmt, b)

        def rstr():
            (n,) = rd("Q")
            b = f.read(n)
            if len(b) != n:
                raise ValueError("truncated string")
            return b

        def skip(t):
            if t == 8:
                rstr()
            elif t == 9:
                (et,) = rd("I")
                (n,) = rd("Q")
                if et in scalar:
                    f.seek(struct.calcsize("<" + scalar[et]) * n, 1)
                else:
                    for _ in range(n):
                        skip(et)
            elif t in scalar:
                rd(scalar[t])
            else:
                raise ValueError("bad value type %d" % t)

        if f.read(4) != b"GGUF":
            raise ValueError("not a GGUF file")
        (version,) = rd("I")
        if version not in (2, 3):
            raise ValueError("GGUF version %d" % version)
        _n_tensors, n_kv = rd("QQ")
        for _ in range(n_kv):
            key = rstr().decode("utf-8")
            (t,) = rd("I")
            if key == "tokenizer.chat_template" and t == 8:
                return rstr().decode("utf-8")
            skip(t)
    return None


def run_job(job):
    if "gguf" in job:
        try:
            t = gguf_chat_template(job["gguf"])
        except (OSError, ValueError, UnicodeDecodeError) as e:
            return {"ok": False, "error": "%s: %s" % (job["gguf"], e)}
        if t is None:
            return {"ok": False, "error": "%s: no tokenizer.chat_template" % job["gguf"]}
        return {"ok": True, "text": t}
    return render(job)


def main(argv):
    if len(argv) == 3 and argv[1] == "batch":
        with open(argv[2], encoding="utf-8") as f:
            jobs = json.load(f)
        out = [run_job(j) for j in jobs]
        sys.stdout.write(json.dumps(out, ensure_ascii=True))
        return 0
    if len(argv) >= 4 and argv[1] == "render":
        with open(argv[2], encoding="utf-8") as f:
            src = f.read()
        with open(argv[3], encoding="utf-8") as f:
            msgs = json.load(f)
        job = {"template": src, "messages": msgs, "add_generation_prompt": "--no-gen" not in argv,
               "bos_token": "<s>", "eos_token": "</s>"}
        for i, a in enumerate(argv):
            if a in ("--bos", "--eos") and i + 1 < len(argv):
                job[a[2:] + "_token"] = argv[i + 1]
        r = render(job)
        if not r["ok"]:
            sys.stderr.write(r["error"] + "\n")
            return 3
        sys.stdout.write(r["text"])
        return 0
    sys.stderr.write(__doc__)
    return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
