#!/usr/bin/python3
"""Round 3, task T6 (experiments/preregistration-round3.md, amendment of
2026-12-06): the N_max sweep of ZO-NP on T1 (the ICML CNN on Fashion-MNIST,
official 60k / 10k, Q = 20, 1,260,000 queries), test seeds 201-205.
Descriptive (no tests): per N_max the final test accuracy (mean ± sd,
min..max), the peak resident set size of the runs (median, min..max; from
/usr/bin/time -v, experiments/zoptic-time), the Fisher storage the
configuration implies (computed exactly, as src/zo stores it) and the
rebuttal's memory footprint beside them; a gnuplot PNG of accuracy and peak
RSS against N_max.

    experiments/r3_t6.py [--out DIR] [--png docs/img/r3-t6.png] [--update-finals]
                         [--finals FILE] [--budget QUERIES]

Run directories: OUT/r3-test-t6-sSEED/zo-np@nNMAX-sSEED/ (run-round3.sh
test-t6).  A run that stopped more than 500 queries short of the budget is
not counted.  Every counted final also lives in experiments/r3-t6-finals.csv
(committed; --update-finals merges the run directories' finals into it), so
the table survives the loss of experiments/out; a run directory takes
precedence over the file.

Peak RSS: experiments/zoptic-time appends one /usr/bin/time -v record per
process to the run's time.txt; a run resumed from its checkpoint has one
record per segment and its figure is the largest of them (each segment's
peak is that process's alone: the resumed process reloads the checkpoint,
Fisher blocks included, but not the earlier process's transient
allocations; a segment killed together with its time process leaves no
record: zoptic-time's 'segment:' line without a record).  The table says how
many runs had more than one segment, and how many lost a record.  A resumed
process's peak is not a fresh run's: it also holds the checkpoint reader
(HDF5), so resumed runs are flagged, not mixed in silently.

Fisher storage (src/zo/fisher.h, blocks.c): B = ceil(N / N_max) contiguous
blocks of near-equal size (the first N mod B one larger); every block with
an estimate keeps its Cholesky factor L_b packed, n_b (n_b + 1) / 2 doubles
(F_b is not kept with zo.fisher_avg = 1), plus one scratch array of
packed(max n_b) doubles.  The column is the store with all B blocks
estimated (with zo.fisher_schedule = random and ~500-600 Fisher updates per
run, fewer blocks are estimated at small N_max: the expected count is given).
"""
import argparse
import csv
import math
import os
import statistics
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import r3_family as fam  # noqa: E402  (the run reader shared with r3_t1.py, r3_tasks.py)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
N_PARAMS = 6854  # the ICML CNN (paper-cnn-fashion-mnist.ini)
NMAX = [1, 8, 28, 64, 128, 256, 431]
SEEDS = list(range(201, 206))
BUDGET = 1260000
SLACK = 500  # a finished run stops within one iteration or Fisher update of the budget
Q, T_UD = 20, 100
FINALS = os.path.join(ROOT, "experiments", "r3-t6-finals.csv")
FIELDS = ["n_max", "seed", "test_metric", "queries", "iterations", "max_rss_kb", "segments",
          "rss_records"]
# ICML rebuttal, "Memory footprint (GB) for FashionMNIST corresponding to the
# setting of Figure 7", ZO-NP (PyTorch process; trend only)
REBUTTAL_GB = {1: 1.11, 2: 1.11, 4: 1.11, 8: 1.11, 16: 1.11, 32: 1.15, 64: 1.48,
               124: 1.90, 236: 3.07, 431: 3.79}


def block_sizes(n, n_max):
    """The block lengths of src/zo/blocks.c (no cuts): ceil(n / n_max)
    near-equal chunks, the first n mod B one longer."""
    nb = -(-n // n_max)
    base, extra = divmod(n, nb)
    return [base + 1] * extra + [base] * (nb - extra)


def packed(n):
    return n * (n + 1) // 2


def fisher_bytes(n, n_max):
    """(bytes of L_b over all B blocks, bytes of the alpha = 1 scratch)."""
    s = block_sizes(n, n_max)
    return 8 * sum(packed(b) for b in s), 8 * packed(max(s))


def read_rss(path):
    """(largest 'Maximum resident set size' in kB or None, processes started
    (zoptic-time's 'segment:' lines), records) of a time.txt."""
    vals, seg = [], 0
    if os.path.exists(path):
        with open(path) as f:
            for line in f:
                if line.startswith("segment:"):
                    seg += 1
                elif "Maximum resident set size" in line:
                    vals.append(int(line.rsplit(":", 1)[1]))
    return (max(vals) if vals else None), seg, len(vals)


def read_run(d):
    """The finals row of a finished run directory (r3_family.read_run: no
    more than SLACK queries short of the budget, accuracy logged), or None."""
    r = fam.read_run(d, BUDGET, SLACK, "accuracy")
    if not r:
        return None
    final, q, rows = r
    rss, seg, rec = read_rss(os.path.join(d, "time.txt"))
    return {"test_metric": final, "queries": q, "iterations": int(rows[-1]["iteration"]),
            "max_rss_kb": rss, "segments": seg, "rss_records": rec}


def read_finals(path):
    """{(n_max, seed): row} of the finals file (short runs dropped)."""
    got = {}
    if os.path.exists(path):
        with open(path) as f:
            for r in csv.DictReader(f):
                if int(r["queries"]) < BUDGET - SLACK:
                    continue
                got[(int(r["n_max"]), int(r["seed"]))] = {
                    "test_metric": float(r["test_metric"]), "queries": int(r["queries"]),
                    "iterations": int(r["iterations"]),
                    "max_rss_kb": int(r["max_rss_kb"]) if r["max_rss_kb"] else None,
                    "segments": int(r["segments"] or 0), "rss_records": int(r["rss_records"] or 0)}
    return got


def write_finals(runs, path):
    with open(path, "w") as f:
        f.write(",".join(FIELDS) + "\n")
        for n, s in sorted(runs):
            r = runs[(n, s)]
            f.write("%d,%d,%.4f,%d,%d,%s,%d,%d\n" % (
                n, s, r["test_metric"], r["queries"], r["iterations"],
                "" if r["max_rss_kb"] is None else r["max_rss_kb"], r["segments"], r["rss_records"]))


def gather(out, finals):
    runs = read_finals(finals)
    for s in SEEDS:
        for n in NMAX:
            r = read_run(os.path.join(out, "r3-test-t6-s%d" % s, "zo-np@n%d-s%d" % (n, s)))
            if r:
                runs[(n, s)] = r
    return runs


def rebuttal_of(n):
    """(N_max of the rebuttal's row used, GB): the same N_max or the nearest."""
    near = min(REBUTTAL_GB, key=lambda k: (abs(math.log(k / n)), k))
    return near, REBUTTAL_GB[near]


def summary(runs):
    """{n_max: dict of the table's numbers} for every N_max with a run."""
    out = {}
    for n in NMAX:
        got = [runs[(n, s)] for s in SEEDS if (n, s) in runs]
        if not got:
            continue
        acc = [r["test_metric"] for r in got]
        rss = [r["max_rss_kb"] for r in got if r["max_rss_kb"] is not None]
        out[n] = {"n": len(acc), "mean": statistics.mean(acc),
                  "sd": statistics.stdev(acc) if len(acc) > 1 else 0.0,
                  "min": min(acc), "max": max(acc),
                  "rss_med": statistics.median(rss) if rss else None,
                  "rss_min": min(rss) if rss else None, "rss_max": max(rss) if rss else None,
                  "n_rss": len(rss), "resumed": sum(r["segments"] > 1 for r in got),
                  "lost": sum(r["rss_records"] < r["segments"] for r in got),
                  "updates": statistics.median(math.ceil(r["iterations"] / T_UD) for r in got)}
    return out


def table(runs):
    summ = summary(runs)
    print("T6: ZO-NP on T1 (CNN, Fashion-MNIST official 60k / 10k, Q = 20, %d queries), "
          "test seeds %d-%d; descriptive (no tests)." % (BUDGET, SEEDS[0], SEEDS[-1]))
    print("| N_max | B | seeds | test accuracy mean ± sd | min..max | peak RSS median (MiB) | "
          "min..max (MiB) | Fisher L_b, all B blocks (bytes) | + scratch (bytes) | "
          "Fisher updates (median) | expected blocks estimated | rebuttal memory (GB) |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for n in NMAX:
        b = len(block_sizes(N_PARAMS, n))
        fb, sc = fisher_bytes(N_PARAMS, n)
        near, gb = rebuttal_of(n)
        reb = "%.2f" % gb if near == n else "%.2f (at N_max %d)" % (gb, near)
        r = summ.get(n)
        if not r:
            print("| %d | %d | 0 of %d | pending |  |  |  | %d | %d |  |  | %s |"
                  % (n, b, len(SEEDS), fb, sc, reb))
            continue
        k = r["updates"]
        est = b * (1 - (1 - 1.0 / b) ** k)
        rss = ("%.1f" % (r["rss_med"] / 1024.0), "%.1f..%.1f" % (r["rss_min"] / 1024.0, r["rss_max"] / 1024.0)) \
            if r["n_rss"] else ("n/a", "n/a")
        print("| %d | %d | %d of %d | %.4f ± %.4f | %.4f..%.4f | %s | %s | %d | %d | %g | %.0f of %d | %s |"
              % (n, b, r["n"], len(SEEDS), r["mean"], r["sd"], r["min"], r["max"], rss[0], rss[1],
                 fb, sc, k, est, b, reb))
    resumed = sum(r["resumed"] for r in summ.values())
    lost = sum(r["lost"] for r in summ.values())
    no_rss = sum(r["n"] - r["n_rss"] for r in summ.values())
    print("\nRuns resumed from a checkpoint (more than one process; peak RSS = the largest "
          "recorded segment): %d; runs with a process that left no RSS record (killed with "
          "its time process): %d; runs without any RSS record: %d." % (resumed, lost, no_rss))
    have = [n for n in NMAX if n in summ]
    if have:
        print("\nPer seed (final test accuracy):")
        print("| seed | " + " | ".join("N_max %d" % n for n in have) + " |")
        print("|---|" + "---|" * len(have))
        for s in SEEDS:
            print("| %d | %s |" % (s, " | ".join("%.4f" % runs[(n, s)]["test_metric"]
                                                 if (n, s) in runs else "–" for n in have)))
    print()
    return summ


def plot(summ, png):
    """Accuracy (mean, min..max) and, below, the median peak RSS above that
    of the smallest N_max with a record beside the computed Fisher store
    (both in MiB: the absolute RSS is in the table)."""
    dat = os.path.splitext(png)[0] + ".dat"
    base = next((summ[n]["rss_med"] for n in NMAX if n in summ and summ[n]["n_rss"]), None)
    with open(dat, "w") as f:
        f.write("# n_max acc_mean acc_min acc_max rss_median_mib rss_above_smallest_mib "
                "fisher_all_blocks_mib\n")
        for n in NMAX:
            if n in summ:
                r = summ[n]
                fb, sc = fisher_bytes(N_PARAMS, n)
                rss = r["rss_med"] / 1024.0 if r["n_rss"] else None
                f.write("%d %.4f %.4f %.4f %s %s %.4f\n" % (
                    n, r["mean"], r["min"], r["max"], "NaN" if rss is None else "%.2f" % rss,
                    "NaN" if rss is None else "%.2f" % (rss - base / 1024.0), (fb + sc) / 2.0 ** 20))
    script = (
        "set terminal pngcairo size 900,700 font ',11' noenhanced\nset output '%s'\n"
        "set multiplot layout 2,1 title 'Round 3, T6: ZO-NP on T1 (Fashion-MNIST CNN, Q = 20, "
        "%d queries), test seeds %d-%d'\n"
        "set logscale x 2\nset xrange [0.7:620]\nset xtics (1, 8, 28, 64, 128, 256, 431)\nset grid\n"
        "set datafile missing 'NaN'\nset key bottom right\n"
        "set ylabel 'test accuracy'\n"
        "plot '%s' u 1:3:4 w filledcurves fc rgb '#d62728' fs transparent solid 0.2 noborder t 'min..max', \\\n"
        "  '' u 1:2 w lp lw 2 pt 7 lc rgb '#d62728' t 'mean'\n"
        "set xlabel 'N_max'\nset ylabel 'MiB'\nset key top left\n"
        "plot '%s' u 1:6 w lp lw 2 pt 7 lc rgb '#1f77b4' t 'peak RSS (median) minus that of the smallest N_max%s', \\\n"
        "  '' u 1:7 w lp lw 2 pt 5 lc rgb '#2ca02c' t 'Fisher store, all blocks (computed)'\n"
        "unset multiplot\n" % (png, BUDGET, SEEDS[0], SEEDS[-1], dat, dat,
                                " (%.0f MiB)" % (base / 1024.0) if base else ""))
    subprocess.run(["gnuplot"], input=script, universal_newlines=True, check=True)


def main():
    global BUDGET
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=os.path.join(ROOT, "experiments", "out"))
    ap.add_argument("--png", default=None, help="accuracy and peak RSS against N_max")
    ap.add_argument("--update-finals", action="store_true")
    ap.add_argument("--finals", default=FINALS, help="the finals file (default: the committed one)")
    ap.add_argument("--budget", type=int, default=BUDGET,
                    help="the runs' budget (another value only for a smoke of the mechanics)")
    a = ap.parse_args()
    BUDGET = a.budget
    runs = gather(a.out, a.finals)
    if a.update_finals:
        write_finals(runs, a.finals)
    summ = table(runs)
    if a.png and summ:
        plot(summ, a.png)
        print("wrote %s" % a.png)


if __name__ == "__main__":
    sys.exit(main())
