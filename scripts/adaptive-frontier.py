#!/usr/bin/env python3
"""adaptive-frontier.py — replay adaptive Best-of-N stopping rules offline on one full vote@N run.

Adaptive sampling (`eval --adaptive`) starts candidate i with seed + i, so its started candidates are
exactly the first n of a full `eval -N N --select vote --out FULL.jsonl` run (same text, tokens, mean
token log-probability): any stopping rule can be replayed from FULL.jsonl alone. This script does so
for the engine's rule and a wider family, and prints accuracy against vote@N and generated tokens as
a share of vote@N's (stdlib only).

  adaptive-frontier.py FULL.jsonl [-N 8] --rule SPEC      one rule (default: the engine's defaults)
  adaptive-frontier.py FULL.jsonl [-N 8] --sweep          the family: Pareto frontier, best in budget
  adaptive-frontier.py FULL.jsonl --choose [--margin M] [--family NAME] [--engine-waves]
        the tuning choice: over the family, at N = 8 (the first 8 candidates) and N = 16 both,
        the setting with the smallest larger token share among those within --loss - M points
        of vote@N at both (FULL: a vote@16 run)
  adaptive-frontier.py FULL.jsonl [-N 8] --rule SPEC --check ADAPTIVE.jsonl
        compare with a real `eval --adaptive` run of the same settings (same candidates started,
        same tokens, same selected answer on every question; exit 1 otherwise)

-N K replays the first K candidates of each question (a vote@16 run also gives N = 8: the first 8
candidates are those of a vote@8 run). Rule SPEC: comma-separated key=value (unset = off):
  wave=K      first wave K (default 1); later waves: sched=half (default, the engine's max(1, n/2)
              more) or sched=S (S more at a time)
  exact=0|1   stop when the vote over all N is decided whatever the unstarted answer (default 1)
  conf=P      Beta rule: P(Binomial(a+b+1, 1/2) <= a) > P (a, b: the leading and second answer's
              votes; Adaptive-Consistency's Beta criterion), with agree=A: a >= A*n
  tokp=Q      a > b and a candidate of the leading answer has exp(logprob_mean) > Q
  dir=P       Dirichlet rule: P(the leader's share is the largest) > P under Dirichlet(c_k + 1) over
              the observed answer classes (one class: a zero-count second class is added, = Beta)
  esc=W       Early-Stopping Self-Consistency: the last W answers are all the same answer
  wmargin=G:T weighted margin: with weights w_i = exp(logprob_mean_i)^G, the heaviest answer's
              summed weight exceeds every other answer's by more than T (the engine's
              --adaptive-margin T --adaptive-gamma G)
  pick=vote|wvote[:G]   the final answer: the vote (default) or the vote weighted by
              exp(logprob_mean)^G (G given, else wmargin's, else 1)
The engine's rule is wave, exact, conf, agree, tokp, wmargin with pick=wvote (its defaults:
wave=1,conf=0.9,tokp=0.95); the rest (other waves, dir, esc, wmargin with the plain vote, pick=wvote
without wmargin) are simulated only. Thresholds are compared as the engine does (float32 flags, strict >).
"""
import argparse
import json
import math
import struct
import sys


def f32(x):
    """a flag as the engine holds it (float)"""
    return struct.unpack("f", struct.pack("f", x))[0]


def number(s):
    try:
        return float(s.replace(",", ""))
    except (AttributeError, ValueError):
        return None


def same(x, y):
    """ss_answer_equal for the testbed's answers: numbers within 1e-6 relative and 0.005 absolute,
    else identical non-empty strings"""
    if x is None or y is None:
        return False
    u, v = number(x), number(y)
    if u is not None and v is not None:
        return u == v or (abs(u - v) <= 1e-6 * max(abs(u), abs(v)) and abs(u - v) <= 5e-3)
    return x != "" and x == y


def load(path, N=None):
    """questions of an eval --out file: [(candidates [(answer, correct, tokens, lp_mean)])]"""
    lines = open(path).read().splitlines()
    head = json.loads(lines[0])
    if "slotswift_eval" not in head:
        sys.exit(f"{path}: line 1 is not an eval results record")
    qs = []
    for k, line in enumerate(lines[1:], 2):
        q = json.loads(line)
        c = [(x["answer"], bool(x["correct"]), x["tokens"], x["logprob_mean"], bool(x.get("stopped")))
             for x in q["candidates"]]
        qs.append(c)
    n_file = len(qs[0]) if qs else 0
    if N is None:
        N = n_file
    if N > n_file:
        sys.exit(f"{path}: has {n_file} candidates per question, -N {N} asked")
    for k, c in enumerate(qs):
        if any(x[4] for x in c[:N]):
            sys.exit(f"{path}: question {k}: stopped candidates (not a full vote@N run)")
    return [[x[:4] for x in c[:N]] for c in qs], head


# ---------------------------------------------------------------- the vote and its statistics

def classes(ans):
    """answer classes in order of first index: [(first index, [members])]"""
    cls = []
    for i, a in enumerate(ans):
        if a is None or not same(a, a):
            continue
        for c in cls:
            if same(ans[c[0]], a):
                c[1].append(i)
                break
        else:
            cls.append((i, [i]))
    return cls


def vote_pick(ans):
    """ss_select_pick(SS_SELECT_VOTE): the first candidate with the most equal answers (-1: none)"""
    v = [sum(same(a, b) for b in ans) if a is not None else 0 for a in ans]
    return v.index(max(v)) if v and max(v) > 0 else -1


def wvote(ans, w):
    """ss_select_weighted_vote: W_i = the summed weight of the candidates whose answer equals i's;
    (the first i with the largest W_i, W_i minus the largest W_j of another answer); (-1, 0): none"""
    W = [sum(w[j] for j in range(len(ans)) if same(a, ans[j])) if a is not None and same(a, a) else None
         for a in ans]
    best = -1
    for i, x in enumerate(W):
        if x is not None and (best < 0 or x > W[best]):
            best = i
    if best < 0:
        return -1, 0.0
    second = max([W[j] for j in range(len(ans)) if W[j] is not None and not same(ans[j], ans[best])] or [0.0])
    return best, W[best] - second


def beta_conf(a, b):
    """P(Beta(a+1, b+1) > 1/2) = P(Binomial(a+b+1, 1/2) <= a), exact rational (then float)"""
    n = a + b + 1
    return min(1.0, sum(math.comb(n, k) for k in range(a + 1)) / 2 ** n)


_dir_cache = {}


def dirichlet_conf(lead, others):
    """P(X_lead > X_k for all k) for independent X_k ~ Gamma(c_k + 1) (the Dirichlet(c + 1) share of
    the leader is the largest): integral of the leader's Gamma density times the others' Gamma CDFs
    (integer shapes: closed forms), composite Simpson on [0, 60 + 4 * shape]"""
    key = (lead, tuple(sorted(others)))
    if key in _dir_cache:
        return _dir_cache[key]
    if not others:
        others = [0]
    al = lead + 1

    def cdf(x, m):   # Gamma(m) CDF, integer m
        t, s = 1.0, 0.0
        for j in range(m):
            s += t
            t *= x / (j + 1)
        return 1.0 - math.exp(-x) * s

    def f(x):
        if x <= 0:
            return 0.0
        p = math.exp((al - 1) * math.log(x) - x - math.lgamma(al))
        for c in others:
            p *= cdf(x, c + 1)
        return p
    hi, m = 60.0 + 4 * (al + max(others)), 4000
    h = hi / m
    s = f(0) + f(hi) + sum((4 if k % 2 else 2) * f(k * h) for k in range(1, m))
    r = s * h / 3
    _dir_cache[key] = r
    return r


def decided(ans, N):
    """ss_vote_decided over N candidates of which the first n = len(ans) are finished"""
    n = len(ans)
    U, u0 = N - n, n
    if U == 0:
        return True
    nums = [number(a) if a is not None else None for a in ans]
    for i in range(n):
        for j in range(i + 1, n):
            x, y = nums[i], nums[j]
            if x is not None and y is not None and x != y and abs(x - y) <= 1e-2 and abs(x - y) <= 3e-6 * max(abs(x), abs(y)):
                return False   # a third answer could equal both: undecided
    cls = classes(ans)
    if not cls:
        return False
    cnt = [len(m) for _, m in cls]
    L = max(range(len(cls)), key=lambda k: (cnt[k], -k))
    fL = cls[L][0]
    if not (cnt[L] > U or (cnt[L] == U and fL < u0)):
        return False
    for k in range(len(cls)):
        if k != L:
            ck, fk = cnt[k] + U, min(cls[k][0], u0)
            if not (cnt[L] > ck or (cnt[L] == ck and fL < fk)):
                return False
    return True


class Prefix:
    """what every rule reads after the first n candidates of a question are done"""

    def __init__(self, cands, n, N):
        ans = [c[0] for c in cands[:n]]
        lp = [c[3] for c in cands[:n]]
        self.ans, self.lp, self.n = ans, lp, n
        cls = classes(ans)
        self.cls = cls
        v = [sum(same(a, b) for b in ans) if a is not None else 0 for a in ans]
        self.a = max(v) if v else 0
        self.L = v.index(self.a) if self.a > 0 else -1
        self.b = max([v[i] for i in range(n) if not same(ans[i], ans[self.L])] or [0]) if self.L >= 0 else 0
        self.exact = n < N and self.L >= 0 and decided(ans, N)
        self.beta = beta_conf(self.a, self.b) if self.L >= 0 else 0.0
        counts = sorted((len(m) for _, m in cls), reverse=True)
        self.dir = dirichlet_conf(counts[0], counts[1:]) if cls else 0.0
        self.lead_lp = max([lp[i] for i in range(n) if v[i] == self.a and same(ans[i], ans[self.L])]
                           or [-math.inf]) if self.L >= 0 else -math.inf
        self.tokens = sum(c[2] for c in cands[:n])
        self.vote = vote_pick(ans)
        self.vote_ok = self.vote >= 0 and cands[self.vote][1]
        self._w = {}

    def last_agree(self, w):
        """the last w answers are one answer"""
        if self.n < w:
            return False
        last = self.ans[self.n - w:]
        return last[0] is not None and all(same(last[0], x) for x in last)

    def weighted(self, g):
        """(weights, weighted pick, margin of the weighted leader over the next class)"""
        if g not in self._w:
            w = [math.exp(f32(g) * x) if x is not None and a is not None else 0.0 for x, a in zip(self.lp, self.ans)]
            self._w[g] = (w,) + wvote(self.ans, w)
        return self._w[g]


# ---------------------------------------------------------------- rules

DEFAULT = "wave=1,conf=0.9,tokp=0.95"


def parse_rule(spec):
    r = {"wave": 1, "sched": "half", "exact": 1, "pick": "vote"}
    for kv in filter(None, spec.split(",")):
        if "=" not in kv:
            sys.exit(f"rule {spec!r}: {kv!r} is not key=value")
        k, v = kv.split("=", 1)
        if k in ("wave", "esc"):
            r[k] = int(v)
        elif k == "sched":
            r[k] = v if v == "half" else int(v)
        elif k == "exact":
            r[k] = int(v)
        elif k in ("conf", "tokp", "dir", "agree"):
            r[k] = float(v)
        elif k == "wmargin":
            g, t = v.split(":")
            r[k] = (float(g), float(t))
        elif k == "pick":
            if v.split(":")[0] not in ("vote", "wvote"):
                sys.exit(f"rule {spec!r}: pick must be vote or wvote[:G]")
            r[k] = v.split(":")[0]
            if ":" in v:
                r["pickg"] = float(v.split(":")[1])
        else:
            sys.exit(f"rule {spec!r}: unknown key {k!r}")
    return r


def rule_str(r):
    parts = [f"wave={r['wave']}"]
    if r["sched"] != "half":
        parts.append(f"sched={r['sched']}")
    if not r["exact"]:
        parts.append("exact=0")
    for k in ("conf", "agree", "tokp", "dir", "esc"):
        if k in r and r[k]:
            parts.append(f"{k}={r[k]:g}")
    if "wmargin" in r:
        parts.append("wmargin=%g:%g" % r["wmargin"])
    if r["pick"] != "vote":
        parts.append("pick=" + r["pick"] + (":%g" % r["pickg"] if "pickg" in r else ""))
    return ",".join(parts)


def stops(r, p):
    """the rule's stop test on a prefix (after the started candidates are done)"""
    if p.L < 0 and "wmargin" not in r:
        return False
    if r["exact"] and p.exact:
        return True
    if "conf" in r and p.beta > f32(r["conf"]) and p.a >= f32(r.get("agree", 0.0)) * p.n - 1e-4:
        return True
    if "tokp" in r and p.a > p.b and p.lead_lp > math.log(f32(r["tokp"])):
        return True
    if "dir" in r and p.dir > r["dir"]:
        return True
    if "esc" in r and p.last_agree(r["esc"]):
        return True
    if "wmargin" in r:
        g, t = r["wmargin"]
        if p.weighted(g)[2] > f32(t):
            return True
    return False


def pick_gamma(r):
    return r["pickg"] if "pickg" in r else r["wmargin"][0] if "wmargin" in r else 1.0


def waves(r, N):
    """the numbers of started candidates the rule walks through"""
    n = min(r["wave"], N)
    while True:
        yield n
        if n >= N:
            return
        s = max(1, n // 2) if r["sched"] == "half" else r["sched"]
        n = min(N, n + s)


class Replay:
    def __init__(self, qs):
        self.qs = qs
        self.N = len(qs[0])
        self.pre = [dict() for _ in qs]
        self.full_tokens = sum(c[2] for q in qs for c in q)
        self.full_acc = sum(self.prefix(k, self.N).vote_ok for k in range(len(qs))) / len(qs)

    def prefix(self, k, n):
        d = self.pre[k]
        if n not in d:
            d[n] = Prefix(self.qs[k], n, self.N)
        return d[n]

    def run(self, r):
        """per question: (started, tokens, selected candidate, correct)"""
        out = []
        for k, q in enumerate(self.qs):
            for n in waves(r, self.N):
                p = self.prefix(k, n)
                if n >= self.N or stops(r, p):
                    break
            if r["pick"] == "wvote":
                sel = p.weighted(pick_gamma(r))[1]
            else:
                sel = p.vote
            out.append((n, p.tokens, sel, sel >= 0 and q[sel][1]))
        return out

    def score(self, r):
        res = self.run(r)
        acc = sum(x[3] for x in res) / len(res)
        tok = sum(x[1] for x in res)
        return acc, tok / self.full_tokens, sum(x[0] for x in res) / len(res)


# ---------------------------------------------------------------- the family swept

OFF = None


def family(N):
    rules = []
    tokps = [OFF, 0.9, 0.92, 0.94, 0.95, 0.96, 0.97, 0.975, 0.98, 0.985, 0.99]
    confs = [OFF, 0.75, 0.8, 0.85, 0.9, 0.93, 0.95, 0.97, 0.99]
    for wave in (1, 2, 3, 4):
        for sched in ("half", 1, 2):
            for conf in confs:
                for agree in ((0.0, 0.5, 0.6) if conf else (0.0,)):
                    for tokp in tokps:
                        r = {"wave": wave, "sched": sched, "exact": 1, "pick": "vote"}
                        if conf:
                            r["conf"] = conf
                            if agree:
                                r["agree"] = agree
                        if tokp:
                            r["tokp"] = tokp
                        rules.append(("ours" if sched == "half" else "ours, other waves", r))
    for wave in (1, 2, 3):
        for sched in ("half", 1):
            for d in (0.8, 0.85, 0.9, 0.93, 0.95, 0.97, 0.99):
                for tokp in tokps:
                    r = {"wave": wave, "sched": sched, "exact": 1, "pick": "vote", "dir": d}
                    if tokp:
                        r["tokp"] = tokp
                    rules.append(("Dirichlet (AC)", r))
    for w in (2, 3, 4, 5, 6, 8):
        if w > N:
            continue
        for tokp in tokps:
            for sched in (w, "half"):
                r = {"wave": w, "sched": sched, "exact": 1, "pick": "vote", "esc": w}
                if tokp:
                    r["tokp"] = tokp
                rules.append(("ESC windows", r))
    for g in (1, 2, 4, 8, 16, 24, 32, 48, 64, 96):
        for t in (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0, 1.2, 1.5, 2.0, 2.5, 3.0, 4.0):
            for wave in (1, 2):
                for sched in ("half", 1):
                    for pick in ("vote", "wvote"):
                        r = {"wave": wave, "sched": sched, "exact": 1, "pick": pick, "wmargin": (g, t)}
                        rules.append(("weighted margin" + (", weighted pick" if pick == "wvote" else ""), r))
    for g in (16, 32, 64):
        for wave in (1, 2):
            for conf in (OFF, 0.8, 0.9, 0.95):
                for tokp in tokps:
                    r = {"wave": wave, "sched": "half", "exact": 1, "pick": "wvote", "pickg": g}
                    if conf:
                        r["conf"] = conf
                    if tokp:
                        r["tokp"] = tokp
                    rules.append(("ours, weighted pick", r))
    return rules


def pareto(points):
    """(loss, frac, ...) points not beaten by another with both a smaller-or-equal loss and frac"""
    pts = sorted(points, key=lambda x: (x[1], x[0]))
    out, best = [], math.inf
    for p in pts:
        if p[0] < best - 1e-12:
            out.append(p)
            best = p[0]
    return out


def sweep(rep, args):
    res = []
    for fam, r in family(rep.N):
        acc, frac, ncand = rep.score(r)
        res.append((100 * (rep.full_acc - acc), frac, ncand, fam, rule_str(r)))
    print(f"{len(rep.qs)} questions, N = {rep.N}: vote@N {100 * rep.full_acc:.1f}%, "
          f"{rep.full_tokens / len(rep.qs):.1f} tokens / question; {len(res)} settings")
    print("  the weighted vote over all N (no stop), weights exp(G * logprob_mean): " + ", ".join(
        f"G {g:g} {100 * rep.score({'wave': rep.N, 'sched': 'half', 'exact': 0, 'pick': 'wvote', 'pickg': g})[0]:.1f}%"
        for g in (1, 8, 16, 32, 64, 1e4)))
    fams = []
    for x in res:
        if x[3] not in fams:
            fams.append(x[3])
    print(f"Pareto frontier (all settings; loss = vote@N − accuracy in points, tokens as a share of vote@N's):")
    for loss, frac, ncand, fam, s in pareto(res):
        if frac <= args.max_frac:
            print(f"  loss {loss:+5.1f}  tokens {100 * frac:5.1f}%  candidates {ncand:5.2f}  [{fam}] {s}")
    print(f"per family: fewest tokens within {args.loss:g} points | least loss within {100 * args.frac:g}% of the tokens:")
    for fam in fams:
        sub = [x for x in res if x[3] == fam]
        a = min((x for x in sub if x[0] <= args.loss + 1e-9), key=lambda x: (x[1], x[0]), default=None)
        b = min((x for x in sub if x[1] <= args.frac + 1e-12), key=lambda x: (x[0], x[1]), default=None)
        fa = f"{100 * a[1]:5.1f}% (loss {a[0]:+.1f}) {a[4]}" if a else "none"
        fb = f"loss {b[0]:+.1f} ({100 * b[1]:.1f}%) {b[4]}" if b else "none"
        print(f"  {fam:34s} {fa} | {fb}")
    print("the frontier at token budgets (least loss within the budget; the plain vote as the answer | the weighted vote):")
    for b in (0.2, 0.3, 0.4, 0.5, 0.6):
        row = []
        for weighted in (False, True):
            sub = [x for x in res if x[1] <= b + 1e-12 and ("weighted pick" in x[3]) == weighted]
            x = min(sub, key=lambda x: (x[0], x[1]), default=None)
            row.append(f"loss {x[0]:+.1f} ({100 * x[1]:.1f}%) {x[4]}" if x else "none")
        print(f"  <= {100 * b:.0f}%: {row[0]} | {row[1]}")
    ok = [x for x in res if x[0] <= args.loss + 1e-9 and x[1] <= args.frac + 1e-12]
    print(f"settings meeting both (loss <= {args.loss:g}, tokens <= {100 * args.frac:g}%): {len(ok)}")
    for x in sorted(ok, key=lambda x: (x[1], x[0]))[:10]:
        print(f"  loss {x[0]:+5.1f}  tokens {100 * x[1]:5.1f}%  [{x[3]}] {x[4]}")


def choose(qs, args):
    reps = {N: Replay([q[:N] for q in qs]) for N in (8, 16)}
    res = []
    for fam, r in family(8):
        if args.family and fam not in args.family:
            continue
        if args.engine_waves and r["sched"] != "half":
            continue
        row = []
        for N, rep in reps.items():
            acc, frac, _ = rep.score(r)
            row += [100 * (rep.full_acc - acc), frac]
        res.append((max(row[1], row[3]), row, fam, rule_str(r)))
    lim = args.loss - args.margin
    ok = sorted((x for x in res if x[1][0] <= lim + 1e-9 and x[1][2] <= lim + 1e-9), key=lambda x: (x[0], x[1][0] + x[1][2]))
    print(f"{len(qs)} questions; {len(res)} settings; within {lim:g} points of vote@N at N = 8 and 16, the fewest tokens:")
    for x in ok[:args.top]:
        l8, f8, l16, f16 = x[1]
        print(f"  N=8: loss {l8:+.1f} tokens {100 * f8:5.1f}% | N=16: loss {l16:+.1f} tokens {100 * f16:5.1f}%  [{x[2]}] {x[3]}")
    if not ok:
        print("  none")


def check(rep, r, path):
    """the replay against a real eval --adaptive run of rule r: per question, the started
    candidates, the tokens and the selected answer"""
    qs = [json.loads(l) for l in open(path).read().splitlines()[1:]]
    if len(qs) > len(rep.qs):
        sys.exit(f"{path}: {len(qs)} questions, the full run has {len(rep.qs)}")
    bad = 0
    res = rep.run(r)
    for k, (q, (n, tok, sel, ok)) in enumerate(zip(qs, res)):
        started = sum(not c.get("stopped") for c in q["candidates"])
        want_ans = rep.qs[k][sel][0] if sel >= 0 else None
        if (started, q["tokens"], q["correct"]) != (n, tok, ok) or not (q["answer"] == want_ans or same(q["answer"], want_ans)):
            print(f"{path}: question {k}: run started {started}, {q['tokens']} tokens, answer {q['answer']!r}; "
                  f"replay {n}, {tok}, {want_ans!r}")
            bad += 1
    acc = sum(q["correct"] for q in qs) / len(qs)
    print(f"check {rule_str(r)}: {len(qs)} questions, {len(qs) - bad} identical (run: accuracy {100 * acc:.1f}%, "
          f"{sum(q['tokens'] for q in qs)} tokens)")
    return bad == 0 and len(qs) > 0


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("full", help="eval --out file of a full vote@N run (--select vote, no --adaptive)")
    ap.add_argument("-N", type=int, help="replay the first N candidates (default: all)")
    ap.add_argument("--limit", type=int, help="the first LIMIT questions only")
    ap.add_argument("--rule", action="append", help=f"rule SPEC (repeatable; default {DEFAULT})")
    ap.add_argument("--sweep", action="store_true", help="sweep the family")
    ap.add_argument("--choose", action="store_true", help="the tuning choice at N = 8 and 16 (see above)")
    ap.add_argument("--margin", type=float, default=0.0, help="--choose: points kept in reserve below --loss (0)")
    ap.add_argument("--family", action="append", help="--choose: only these families (repeatable)")
    ap.add_argument("--engine-waves", action="store_true", help="--choose: only the engine's waves (sched=half)")
    ap.add_argument("--top", type=int, default=10, help="--choose: print this many (10)")
    ap.add_argument("--check", help="eval --adaptive results to compare with (one --rule)")
    ap.add_argument("--loss", type=float, default=0.5, help="the target's accuracy loss in points (0.5)")
    ap.add_argument("--frac", type=float, default=0.4, help="the target's token share (0.4)")
    ap.add_argument("--max-frac", type=float, default=1.0, help="print the frontier up to this token share")
    args = ap.parse_args()
    qs, _ = load(args.full, args.N)
    if args.limit:
        qs = qs[:args.limit]
    if not qs:
        sys.exit(f"{args.full}: no questions")
    if args.choose:
        if len(qs[0]) < 16:
            sys.exit(f"{args.full}: --choose needs a vote@16 run")
        choose(qs, args)
        return
    rep = Replay(qs)
    if args.sweep:
        sweep(rep, args)
        return
    rules = [parse_rule(s) for s in (args.rule or [DEFAULT])]
    if args.check:
        if len(rules) != 1:
            sys.exit("--check takes one --rule")
        sys.exit(0 if check(rep, rules[0], args.check) else 1)
    print(f"{len(qs)} questions, N = {rep.N}: vote@N {100 * rep.full_acc:.1f}%, {rep.full_tokens / len(qs):.1f} tokens / question")
    for r in rules:
        acc, frac, ncand = rep.score(r)
        print(f"  {rule_str(r)}: accuracy {100 * acc:.1f}% ({100 * (acc - rep.full_acc):+.1f}), "
              f"tokens {100 * frac:.1f}% ({frac * rep.full_tokens / len(qs):.1f} / question), candidates {ncand:.2f}")


if __name__ == "__main__":
    main()
