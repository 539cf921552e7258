#!/usr/bin/python3
"""Round 3, task T1 (the ICML CNN on Fashion-MNIST, official 60k / 10k) and
T1q (the same at Q = 1, 5, 100): the test tables from the seed directories of
`run-round3.sh test-t1` and `test-t1q`, with the pre-registered statistics
(experiments/preregistration-round3.md): two-sided exact Mann-Whitney U of
ZO-NP against each method, computed only for a method with all 10 test seeds
(and ZO-NP's 10 at the same Q); Holm over the family of m = 42 planned
comparisons, those still pending ranked last (the available p-values take the
largest multipliers); win / loss / not separated.  The family is
experiments/r3_family.py's, shared with r3_tasks.py (T2-T5): the Holm p
here uses every available p of the 42, T2-T5's included (their run
directories under --out and their finals file, --tasks-finals).  Also writes the curve of
the test metric against queries at Q = 20 (mean over seeds, min..max shaded)
as a gnuplot PNG.

    experiments/r3_t1.py [--out DIR] [--png docs/img/r3-t1-q20.png] [--update-finals]
                         [--finals FILE] [--tasks-finals FILE]

Every final also lives in experiments/r3-t1-finals.csv (committed; --update-finals
merges the run directories' finals into it), so the tables survive the loss of
experiments/out: a (Q, method, seed) with no run directory is read from there,
and a method with no run directories keeps its curve columns of the existing
.dat (queries left empty: the first 30 finals were copied from
docs/results.md after the run directories were lost with a machine; their
runs spent the budget).
"""
import argparse
import os
import statistics
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import r3_family as fam  # noqa: E402  (the family of 42, shared with r3_tasks.py)

SEEDS = fam.SEEDS
ITERS = fam.T1_ITERS
BASE = fam.BASE
# Q -> (seed directory pattern, methods)
TASKS = {q: (fam.TASKS[k].pattern, fam.TASKS[k].methods) for q, k in fam.T1_KEYS.items()}
# ICML rebuttal, Fashion-MNIST test accuracy (ZO-I / ZO-co / ZO-NP)
PAPER = {1: (0.710, 0.730, 0.716), 5: (0.775, 0.778, 0.822),
         20: (0.794, 0.820, 0.858), 100: (0.832, 0.847, 0.873)}


def table(q, runs, adj, ps, every):
    key = fam.T1_KEYS[q]
    paper = dict(zip(BASE, PAPER[q]))
    print("T1 at Q = %d (budget %d queries):" % (q, ITERS * (q + 1)))
    print("| method | seeds done | mean ± sd | median | paper (Q = %d) | ZO-NP ahead on | p (exact MW) | Holm p (m = 42) | verdict |" % q)
    print("|---|---|---|---|---|---|---|---|---|")
    for m in TASKS[q][1]:
        got = runs.get(m, {})
        pp = "%.3f" % paper[m] if m in paper else "—"
        if not got:
            print("| %s | 0 of 10 |  |  | %s |  | pending | — | pending |" % (m, pp))
            continue
        v = [got[s][0] for s in sorted(got)]
        cells = [m, "%d of 10" % len(v),
                 "%.4f ± %.4f" % (statistics.mean(v), statistics.stdev(v) if len(v) > 1 else 0.0),
                 "%.4f" % statistics.median(v), pp]
        if m == "zo-np":
            cells += ["—", "—", "—", "—"]
        else:
            cells.append("%d / %d seeds" % fam.ahead(every, key, m))
            if (key, m) in ps:
                cells += ["%.3g" % ps[(key, m)], "%.3g" % adj[(key, m)], fam.verdict(every, key, m, adj)]
            else:
                cells += ["pending (no test before 10 seeds)", "—", "pending"]
        print("| " + " | ".join(cells) + " |")
    have = [m for m in TASKS[q][1] if m in runs]
    print("\nPer seed (final test accuracy), Q = %d:" % q)
    print("| seed | " + " | ".join(have) + " |")
    print("|---|" + "---|" * len(have))
    for s in SEEDS:
        print("| %d | %s |" % (s, " | ".join("%.4f" % runs[m][s][0] if s in runs[m] else "–"
                                             for m in have)))
    print()


def main():
    ap = argparse.ArgumentParser()
    fam.add_args(ap, "t1")
    ap.add_argument("--png", default=None, help="the Q = 20 curves")
    ap.add_argument("--png-dir", default=None,
                    help="curves of every Q with runs here (or an existing .dat): DIR/r3-t1-qQ.png")
    ap.add_argument("--update-finals", action="store_true")
    a = ap.parse_args()
    runs = fam.gather_t1(a.out, a.finals)
    if a.update_finals:
        fam.write_t1_finals(runs, a.finals)
    # the whole family: T2-T5's finals count in the Holm correction
    every = fam.by_key(runs, fam.gather_other(a.out, a.tasks_finals))
    ps, adj = fam.family(every, fam.load_compare())
    print(fam.summary_line(ps) + "\n")
    for q in [20, 1, 5, 100]:
        if q in runs:
            table(q, runs[q], adj, ps, every)
    pngs = {20: a.png} if a.png else {}
    if a.png_dir:
        pngs = {q: os.path.join(a.png_dir, "r3-t1-q%d.png" % q) for q in [1, 5, 20, 100]}
    for q, png in sorted(pngs.items()):
        if q not in runs:
            continue
        step = ITERS * (q + 1) // 60  # 60 points along the budget (Q = 20: 21,000)
        drawn = fam.curves(runs[q], png, list(range(step, ITERS * (q + 1) + 1, step)),
                           "Round 3, T1: CNN on Fashion-MNIST (official 60k/10k), Q = %d, "
                           "test seeds 201-210" % q, "test accuracy",
                           ("0.6", "0.87") if q == 20 else None)
        if drawn:
            print("wrote %s (%s)" % (png, ", ".join(drawn)))


if __name__ == "__main__":
    sys.exit(main())
