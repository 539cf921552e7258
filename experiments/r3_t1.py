#!/usr/bin/python3
"""Round 3, task T1 (the ICML CNN on Fashion-MNIST, official 60k / 10k) and
T1q (the same at Q = 1, 5, 100): the test tables from the seed directories of
`run-round3.sh test-t1` and `test-t1q`, with the pre-registered statistics
(experiments/preregistration-round3.md): two-sided exact Mann-Whitney U of
ZO-NP against each method, computed only for a method with all 10 test seeds
(and ZO-NP's 10 at the same Q); Holm over the family of m = 42 planned
comparisons, those still pending ranked last (the available p-values take the
largest multipliers); win / loss / not separated.  Also writes the curve of
the test metric against queries at Q = 20 (mean over seeds, min..max shaded)
as a gnuplot PNG.

    experiments/r3_t1.py [--out DIR] [--png docs/img/r3-t1-q20.png] [--update-finals]
                         [--finals FILE]

Every final also lives in experiments/r3-t1-finals.csv (committed; --update-finals
merges the run directories' finals into it), so the tables survive the loss of
experiments/out: a (Q, method, seed) with no run directory is read from there,
and a method with no run directories keeps its curve columns of the existing
.dat (queries left empty: the first 30 finals were copied from
docs/results.md after the run directories were lost with a machine; their
runs spent the budget).
"""
import argparse
import csv
import importlib.machinery
import importlib.util
import os
import statistics
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SEEDS = list(range(201, 211))
M_FAMILY = 42
FINALS = os.path.join(ROOT, "experiments", "r3-t1-finals.csv")
ITERS = 60000  # 100 epochs of ZO-I at batch 100: every T1 / T1q run's budget is ITERS (Q + 1)
ALL = ["zo-i", "zo-co", "cmaes", "zo-sparse", "zo-guided", "zo-adapt", "zo-np"]
BASE = ["zo-i", "zo-co", "zo-np"]
# Q -> (seed directory pattern, methods)
TASKS = {20: ("r3-test-t1-s%d", ALL), 1: ("r3-test-t1q-q1-s%d", BASE),
         5: ("r3-test-t1q-q5-s%d", BASE), 100: ("r3-test-t1q-q100-s%d", BASE)}
# ICML rebuttal, Fashion-MNIST test accuracy (ZO-I / ZO-co / ZO-NP)
PAPER = {1: (0.710, 0.730, 0.716), 5: (0.775, 0.778, 0.822),
         20: (0.794, 0.820, 0.858), 100: (0.832, 0.847, 0.873)}


def load_compare():
    path = os.path.join(ROOT, "experiments", "compare")
    loader = importlib.machinery.SourceFileLoader("compare_mod", path)
    spec = importlib.util.spec_from_loader("compare_mod", loader)
    mod = importlib.util.module_from_spec(spec)
    loader.exec_module(mod)
    return mod


def read_run(d, budget):
    """(final test metric, queries, rows) of a finished run directory, or None."""
    log = os.path.join(d, "log.csv")
    if not os.path.exists(log):
        return None
    with open(log) as f:
        rows = list(csv.DictReader(f))
    if not rows:
        return None
    last = rows[-1]
    q = int(last["queries"])
    # a finished run stops within one iteration (<= Q + 1 queries, or a Fisher
    # update's Jacobian queries) of the budget
    if q < budget - 500:
        return None
    return float(last["test_metric"]), q, rows


def read_finals(path):
    """{Q: {method: {seed: (final, queries, None)}}} from the finals file."""
    got = {}
    if os.path.exists(path):
        with open(path) as f:
            for r in csv.DictReader(f):
                q = int(r["Q"])
                got.setdefault(q, {}).setdefault(r["method"], {})[int(r["seed"])] = (
                    float(r["test_metric"]), int(r["queries"]) if r["queries"] else None, None)
    return got


def write_finals(runs, path):
    with open(path, "w") as f:
        f.write("Q,method,seed,test_metric,queries\n")
        for q in sorted(runs):
            for m in ALL:
                for s in sorted(runs[q].get(m, {})):
                    final, n, _ = runs[q][m][s]
                    f.write("%d,%s,%d,%.4f,%s\n" % (q, m, s, final, "" if n is None else n))


def holm(pvals, m):
    """Holm-adjusted p-values of the available ones in a family of m, the
    pending ones ranked last."""
    order = sorted(range(len(pvals)), key=lambda i: pvals[i])
    adj, run = [0.0] * len(pvals), 0.0
    for rank, i in enumerate(order):
        run = max(run, min(1.0, (m - rank) * pvals[i]))
        adj[i] = run
    return adj


def old_columns(dat):
    """{method: {queries: 'mean min max'}} of an existing .dat."""
    if not os.path.exists(dat):
        return {}
    with open(dat) as f:
        head = f.readline().split()[2:]
        rows = [line.split() for line in f if line.strip()]
    out = {}
    for k in range(0, len(head), 3):
        m = head[k][:-len("_mean")]
        out[m] = {int(r[0]): " ".join(r[1 + k:4 + k]) for r in rows}
    return out


def curves(runs, png, budget):
    grid = list(range(21000, budget + 1, 21000))
    dat = os.path.splitext(png)[0] + ".dat"
    kept = old_columns(dat)
    # archived: a method whose runs come from the finals file alone keeps its earlier curve
    archived = {m for m in runs if not all(rows for _, _, rows in runs[m].values())}
    cols = [m for m in ALL if len(runs.get(m, {})) == len(SEEDS) and (m not in archived or m in kept)]
    with open(dat, "w") as f:
        f.write("# queries " + " ".join("%s_mean %s_min %s_max" % (m, m, m) for m in cols) + "\n")
        for q in grid:
            vals = []
            for m in cols:
                if m in archived:
                    vals.append(kept[m].get(q, "NaN NaN NaN"))
                    continue
                at = []
                for _, _, rows in runs[m].values():
                    best = None
                    for r in rows:  # the last evaluation at or before q
                        if int(r["queries"]) <= q + 20:
                            best = float(r["test_metric"])
                    if best is not None:
                        at.append(best)
                vals.append("%.4f %.4f %.4f" % (statistics.mean(at), min(at), max(at)) if at else "NaN NaN NaN")
            f.write("%d %s\n" % (q, " ".join(vals)))
    colors = {"zo-i": "#1f77b4", "zo-co": "#2ca02c", "zo-np": "#d62728", "cmaes": "#9467bd",
              "zo-sparse": "#8c564b", "zo-guided": "#e377c2", "zo-adapt": "#7f7f7f"}
    plots = []
    for k, m in enumerate(cols):
        c = 2 + 3 * k
        plots.append("'%s' u 1:%d:%d w filledcurves fc rgb '%s' fs transparent solid 0.2 noborder notitle"
                     % (dat, c + 1, c + 2, colors[m]))
        plots.append("'%s' u 1:%d w l lw 2 lc rgb '%s' t '%s (mean of %d seeds; band: min..max)'"
                     % (dat, c, colors[m], m, len(SEEDS)))
    script = ("set terminal pngcairo size 900,560 font ',11'\nset output '%s'\n"
              "set title 'Round 3, T1: CNN on Fashion-MNIST (official 60k/10k), Q = 20, test seeds 201-210'\n"
              "set xlabel 'queries'\nset ylabel 'test accuracy'\nset key bottom right\nset grid\n"
              "set yrange [0.6:0.87]\nplot %s\n" % (png, ", \\\n  ".join(plots)))
    subprocess.run(["gnuplot"], input=script, text=True, check=True)


def gather(out, finals):
    runs = read_finals(finals)
    for q, (pattern, methods) in TASKS.items():
        for s in SEEDS:
            for m in methods:
                r = read_run(os.path.join(out, pattern % s, "%s-s%d" % (m, s)), ITERS * (q + 1))
                if r:
                    runs.setdefault(q, {}).setdefault(m, {})[s] = r
    return runs


def tests_of(runs, cmp):
    """[(Q, method, p)] of every comparison whose 20 runs are all in."""
    out = []
    for q in sorted(runs):
        np_runs = runs[q].get("zo-np", {})
        for m in TASKS[q][1]:
            got = runs[q].get(m, {})
            if m != "zo-np" and len(got) == len(SEEDS) and len(np_runs) == len(SEEDS):
                _, p = cmp.mann_whitney([np_runs[s][0] for s in SEEDS], [got[s][0] for s in SEEDS])
                out.append((q, m, p))
    return out


def table(q, runs, adj, ps):
    paper = dict(zip(BASE, PAPER[q]))
    np_runs = runs.get("zo-np", {})
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
            common = sorted(set(got) & set(np_runs))
            cells.append("%d / %d seeds" % (sum(np_runs[s][0] > got[s][0] for s in common), len(common)))
            if (q, m) in ps:
                h = adj[(q, m)]
                med_np = statistics.median([np_runs[s][0] for s in SEEDS])
                verdict = ("ZO-NP wins" if med_np > statistics.median(v) else "ZO-NP loses") \
                    if h < 0.05 else "not separated"
                cells += ["%.3g" % ps[(q, m)], "%.3g" % h, verdict]
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
    ap.add_argument("--out", default=os.path.join(ROOT, "experiments", "out"))
    ap.add_argument("--png", default=None, help="the Q = 20 curves")
    ap.add_argument("--update-finals", action="store_true")
    ap.add_argument("--finals", default=FINALS, help="the finals file (default: the committed one)")
    a = ap.parse_args()
    runs = gather(a.out, a.finals)
    if a.update_finals:
        write_finals(runs, a.finals)
    tests = tests_of(runs, load_compare())
    adj = dict(zip([(q, m) for q, m, _ in tests], holm([p for _, _, p in tests], M_FAMILY)))
    ps = {(q, m): p for q, m, p in tests}
    print("%d of the %d planned comparisons available; Holm over m = %d, the pending ranked last.\n"
          % (len(tests), M_FAMILY, M_FAMILY))
    for q in [20, 1, 5, 100]:
        if q in runs:
            table(q, runs[q], adj, ps)
    if a.png and 20 in runs:
        curves(runs[20], a.png, ITERS * 21)
        print("wrote %s" % a.png)


if __name__ == "__main__":
    sys.exit(main())
