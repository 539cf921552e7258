#!/usr/bin/python3
"""Round 3, task T1 (Fashion-MNIST CNN, Q = 20, 1.26 M queries): the test
table from the seed directories of `run-round3.sh test-t1`, with the
pre-registered statistics (experiments/preregistration-round3.md):
two-sided exact Mann-Whitney U of ZO-NP against each method, computed only
for a method with all 10 test seeds; Holm over the family of m = 42 planned
comparisons, the ones still pending ranked last (the available p-values take
the largest multipliers); win / loss / not separated.  Also writes the curve
of the test metric against queries (mean over seeds, min..max shaded) as a
gnuplot PNG.

    experiments/r3_t1.py [--out DIR] [--png docs/img/r3-t1-q20.png] [--update-finals]

Every final also lives in experiments/r3-t1-finals.csv (committed; --update-finals
merges the run directories' finals into it), so the table survives the loss of
experiments/out: a (method, seed) with no run directory is read from there, and
a method with no run directories keeps its curve columns of the existing .dat
(queries left empty: the first 30 finals were copied from docs/results.md after
the run directories were lost with a machine; their runs spent the budget).
"""
import argparse
import csv
import glob
import importlib.machinery
import importlib.util
import os
import statistics
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUDGET = 1260000
SEEDS = list(range(201, 211))
M_FAMILY = 42
METHODS = ["zo-i", "zo-co", "cmaes", "zo-sparse", "zo-guided", "zo-adapt", "zo-np"]
FINALS = os.path.join(ROOT, "experiments", "r3-t1-finals.csv")
PAPER = {"zo-i": 0.794, "zo-co": 0.820, "zo-np": 0.858}  # ICML rebuttal, Q = 20


def load_compare():
    path = os.path.join(ROOT, "experiments", "compare")
    loader = importlib.machinery.SourceFileLoader("compare_mod", path)
    spec = importlib.util.spec_from_loader("compare_mod", loader)
    mod = importlib.util.module_from_spec(spec)
    loader.exec_module(mod)
    return mod


def read_run(d):
    """(final test metric, queries, rows) of a run directory, or None."""
    log = os.path.join(d, "log.csv")
    if not os.path.exists(log):
        return None
    with open(log) as f:
        rows = list(csv.DictReader(f))
    if not rows:
        return None
    last = rows[-1]
    q = int(last["queries"])
    # a finished run stops within one iteration (<= 21 queries, or a Fisher
    # update's Jacobian queries) of the budget
    if q < BUDGET - 500:
        return None
    return float(last["test_metric"]), q, rows


def read_finals():
    """{method: {seed: (final, queries, None)}} from the committed finals."""
    got = {}
    if os.path.exists(FINALS):
        with open(FINALS) as f:
            for r in csv.DictReader(f):
                got.setdefault(r["method"], {})[int(r["seed"])] = (float(r["test_metric"]),
                                                             int(r["queries"]) if r["queries"] else None, None)
    return got


def write_finals(runs):
    with open(FINALS, "w") as f:
        f.write("method,seed,test_metric,queries\n")
        for m in METHODS:
            for s in sorted(runs.get(m, {})):
                q = runs[m][s][1]
                f.write("%s,%d,%.4f,%s\n" % (m, s, runs[m][s][0], "" if q is None else q))


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


def holm(pvals, m):
    """Holm-adjusted p-values of the available ones in a family of m, the
    pending ones ranked last."""
    order = sorted(range(len(pvals)), key=lambda i: pvals[i])
    adj, run = [0.0] * len(pvals), 0.0
    for rank, i in enumerate(order):
        run = max(run, min(1.0, (m - rank) * pvals[i]))
        adj[i] = run
    return adj


def curves(runs, png):
    grid = list(range(21000, BUDGET + 1, 21000))
    dat = os.path.splitext(png)[0] + ".dat"
    kept = old_columns(dat)
    cols = [m for m in METHODS if len(runs.get(m, {})) == len(SEEDS)
            and (all(rows for _, _, rows in runs[m].values()) or m in kept)]
    with open(dat, "w") as f:
        f.write("# queries " + " ".join("%s_mean %s_min %s_max" % (m, m, m) for m in cols) + "\n")
        for q in grid:
            vals = []
            for m in cols:
                if not all(rows for _, _, rows in runs[m].values()):  # archived: the earlier curve
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


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=os.path.join(ROOT, "experiments", "out"))
    ap.add_argument("--png", default=None)
    ap.add_argument("--update-finals", action="store_true")
    a = ap.parse_args()
    cmp = load_compare()
    runs = read_finals()
    for s in SEEDS:
        for m in METHODS:
            r = read_run(os.path.join(a.out, "r3-test-t1-s%d" % s, "%s-s%d" % (m, s)))
            if r:
                runs.setdefault(m, {})[s] = r
    if a.update_finals:
        write_finals(runs)
    np_runs = runs.get("zo-np", {})
    print("| method | seeds done | mean ± sd | median | paper (Q = 20) | ZO-NP ahead on | p (exact MW) | Holm p (m = 42) | verdict |")
    print("|---|---|---|---|---|---|---|---|---|")
    tests, rows = [], []
    for m in METHODS:
        got = runs.get(m, {})
        if not got:
            rows.append((m, "0 of 10", "", "", PAPER.get(m), "", None))
            continue
        v = [got[s][0] for s in sorted(got)]
        line = [m, "%d of 10" % len(v),
                "%.4f ± %.4f" % (statistics.mean(v), statistics.stdev(v) if len(v) > 1 else 0.0),
                "%.4f" % statistics.median(v), PAPER.get(m)]
        if m != "zo-np":
            common = sorted(set(got) & set(np_runs))
            ahead = sum(np_runs[s][0] > got[s][0] for s in common)
            line.append("%d / %d seeds" % (ahead, len(common)))
            if len(got) == len(SEEDS) and len(np_runs) == len(SEEDS):
                _, p = cmp.mann_whitney([np_runs[s][0] for s in SEEDS], [got[s][0] for s in SEEDS])
                tests.append((m, p))
                line.append(p)
            else:
                line.append(None)
        else:
            line += ["—", None]
        rows.append(tuple(line))
    adj = dict(zip([t[0] for t in tests], holm([t[1] for t in tests], M_FAMILY)))
    for r in rows:
        m = r[0]
        paper = "%.3f" % r[4] if r[4] else "—"
        p = r[6]
        if m == "zo-np":
            ps, hs, verdict = "—", "—", "—"
        elif p is None:
            ps, hs, verdict = "pending (no test before 10 seeds)", "—", "pending"
        else:
            med_np = statistics.median([np_runs[s][0] for s in SEEDS])
            med_m = statistics.median([runs[m][s][0] for s in SEEDS])
            h = adj[m]
            ps, hs = "%.3g" % p, "%.3g" % h
            verdict = ("ZO-NP wins" if med_np > med_m else "ZO-NP loses") if h < 0.05 else "not separated"
        print("| %s | %s | %s | %s | %s | %s | %s | %s | %s |" % (m, r[1], r[2], r[3], paper, r[5], ps, hs, verdict))
    print()
    print("Per seed (final test accuracy):")
    print("| seed | " + " | ".join(m for m in METHODS if m in runs) + " |")
    print("|---|" + "---|" * len([m for m in METHODS if m in runs]))
    for s in SEEDS:
        print("| %d | %s |" % (s, " | ".join("%.4f" % runs[m][s][0] if s in runs[m] else "–"
                                             for m in METHODS if m in runs)))
    if a.png:
        curves(runs, a.png)
        print("\nwrote %s" % a.png)


if __name__ == "__main__":
    sys.exit(main())
