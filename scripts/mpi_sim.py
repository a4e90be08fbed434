#!/usr/bin/env python3
"""mpi_sim.py COSTS.jsonl DATA.jsonl [--k 8,64,512] [--n N] [--field cpu_seconds] [--order question|shuffled]

Efficiency of spreading an eval over K MPI ranks, on paper, from measured per-question costs.

1. Cost model, fitted by least squares on the measured questions (scripts/mpi_costs.sh):
       cost = a + b * prompt_tokens + c * answer_tokens
   (the prefill and the decoding are linear in their token counts at these lengths).
2. Every question of DATA gets its cost from that model, its token counts estimated from its
   character counts with the tokens-per-character ratios of the measured questions (prompt: chat
   template tokens + question characters; answer: the reference solution's characters).
3. Schedules of the first N questions (default: all) on K ranks, each rank one question at a time:
     dynamic  rank 0 hands the next question (in question order) to whichever rank is free first
              (what `mpirun -np K slotswift eval` does; handing out costs one message, ~1 ms here,
              counted per question);
     blocks   rank r gets the r-th contiguous block of N / K questions.
   Efficiency = total cost / (K * makespan): 1 means no rank ever waits.
Model loading (the same on every rank) is left out. Prints the fit, the cost distribution and a table.
"""
import argparse
import heapq
import json
import random


def lstsq3(rows, ys):
    # normal equations for y = a + b x1 + c x2 (3x3, Gauss-Jordan)
    A = [[0.0] * 4 for _ in range(3)]
    for (x1, x2), y in zip(rows, ys):
        v = (1.0, x1, x2)
        for i in range(3):
            for j in range(3):
                A[i][j] += v[i] * v[j]
            A[i][3] += v[i] * y
    for i in range(3):
        p = max(range(i, 3), key=lambda r: abs(A[r][i]))
        A[i], A[p] = A[p], A[i]
        for r in range(3):
            if r != i:
                f = A[r][i] / A[i][i]
                A[r] = [x - f * y for x, y in zip(A[r], A[i])]
    return [A[i][3] / A[i][i] for i in range(3)]


def dynamic(costs, K, msg):
    free = [(0.0, r) for r in range(K)]
    heapq.heapify(free)
    end = 0.0
    for c in costs:
        t, r = heapq.heappop(free)
        t += c + msg
        end = max(end, t)
        heapq.heappush(free, (t, r))
    return end


def blocks(costs, K):
    n = len(costs)
    return max(sum(costs[r * n // K:(r + 1) * n // K]) for r in range(K))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("costs")
    ap.add_argument("data")
    ap.add_argument("--k", default="8,64,512")
    ap.add_argument("--n", type=int, default=0)
    ap.add_argument("--field", default="cpu_seconds", help="cost field of COSTS (cpu_seconds or seconds)")
    ap.add_argument("--msg", type=float, default=0.001, help="seconds per hand-out (one message round trip)")
    ap.add_argument("--order", default="question", choices=["question", "shuffled"],
                    help="question order, or the mean over 20 random orders")
    a = ap.parse_args()
    meas = [json.loads(l) for l in open(a.costs) if l.strip()]
    data = [json.loads(l) for l in open(a.data) if l.strip()]
    if a.n:
        data = data[:a.n]
    # token estimates from characters (ratios and the template's fixed tokens from the measured questions)
    pc = sum(m["prompt_chars"] for m in meas); ac = sum(m["answer_chars"] for m in meas)
    ptk = sum(m["prompt_tokens"] for m in meas); atk = sum(m["answer_tokens"] for m in meas)
    # prompt_tokens = t0 + r_p * chars: fitted on the measured questions (least squares, one variable)
    mx = pc / len(meas); my = ptk / len(meas)
    sxx = sum((m["prompt_chars"] - mx) ** 2 for m in meas)
    rp = sum((m["prompt_chars"] - mx) * (m["prompt_tokens"] - my) for m in meas) / sxx
    t0 = my - rp * mx
    ra = atk / ac
    a0, bp, ca = lstsq3([(m["prompt_tokens"], m["answer_tokens"]) for m in meas], [m[a.field] for m in meas])
    resid = [m[a.field] - (a0 + bp * m["prompt_tokens"] + ca * m["answer_tokens"]) for m in meas]
    print("measured: %d questions, %s mean %.3f s (min %.3f, max %.3f)" % (
        len(meas), a.field, sum(m[a.field] for m in meas) / len(meas), min(m[a.field] for m in meas), max(m[a.field] for m in meas)))
    print("fit: cost = %.4f + %.5f * prompt_tokens + %.5f * answer_tokens  (residuals: max |r| %.3f s)" % (
        a0, bp, ca, max(abs(r) for r in resid)))
    print("tokens from characters: prompt = %.1f + %.3f * chars, answer = %.3f * chars" % (t0, rp, ra))
    costs = [max(a0 + bp * (t0 + rp * len(q["question"])) + ca * ra * len(q["answer"]), 1e-3) for q in data]
    s = sorted(costs)
    mean = sum(costs) / len(costs)
    sd = (sum((c - mean) ** 2 for c in costs) / len(costs)) ** 0.5
    print("cost of the %d questions: mean %.3f s, sd %.3f (cv %.2f), p10 %.3f, p50 %.3f, p90 %.3f, max %.3f (%.2f x mean)" % (
        len(costs), mean, sd, sd / mean, s[len(s) // 10], s[len(s) // 2], s[len(s) * 9 // 10], s[-1], s[-1] / mean))
    total = sum(costs)
    print("%6s %10s %10s %12s %12s" % ("K", "q/rank", "dynamic", "fixed blocks", "ideal time"))
    for K in [int(k) for k in a.k.split(",")]:
        orders = [costs] if a.order == "question" else []
        rng = random.Random(1)
        for _ in range(0 if a.order == "question" else 20):
            c = costs[:]
            rng.shuffle(c)
            orders.append(c)
        ed = sum(total / (K * dynamic(c, K, a.msg)) for c in orders) / len(orders)
        eb = sum(total / (K * blocks(c, K)) for c in orders) / len(orders)
        print("%6d %10.1f %9.1f%% %11.1f%% %11.1fs" % (K, len(costs) / K, 100 * ed, 100 * eb, total / K))


if __name__ == "__main__":
    main()
