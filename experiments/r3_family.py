#!/usr/bin/python3
"""Round 3's one family of m = 42 planned comparisons
(experiments/preregistration-round3.md, "Statistics"), in one place: the
tasks, where their runs and committed finals live, which direction is better,
the two-sided exact Mann-Whitney U of ZO-NP against each other method, Holm
over all 42 with the pending ones ranked last, and the verdict.  Shared by
experiments/r3_t1.py (T1, T1q) and experiments/r3_tasks.py (T2-T5), so both
report the same Holm-adjusted p for the same comparison: each of them
gathers every task's finals (run directories first, the committed finals
files for the rest) before computing the family.

    experiments/r3_family.py [--out DIR] [--t1-finals FILE] [--finals FILE]

prints the 42 comparisons as one markdown table (raw p, Holm p, verdict).

The family: T1 at Q = 20, ZO-NP against the 6 others (6); T1q at Q = 1, 5, 100,
ZO-NP against ZO-I and ZO-co (6); T2, T3, T4a, T4b, T5, ZO-NP against the 6
others (30).  A comparison is available when both methods have a counted
final for each of the 10 test seeds 201-210; until then it is pending (no test
before 10 seeds, pre-registered).  A run counts when its log.csv ends within
its task's tolerance of the budget: 500 queries as r3_t1.py had it, or one
ZO-NP iteration with a Fisher update (Q + 1 + N_max) where that is more — T5
531 (the mixer's N_max 510, Q = 20), T1q at Q = 100 532 (N_max 431) — so a
finished ZO-NP run is never dropped (the trainer stops before an iteration
that would exceed the budget).  N_max per task: the model kind's default
(src/tasks/models.c; an upper bound on the block, e.g. T2's blocks are 384).

Metric directions (from the source: src/tasks/models.c gives each model kind
its default `train.metric`, the configs leave it at auto, src/cli/train.c
writes the resolved value into every run's config.ini, src/cli/task.c
computes it): T1, T1q, T2, T5 `accuracy` (fraction correct on the test set,
higher is better); T3 `ser` = 1 - symbol accuracy (lower is better); T4a/T4b
`relative_loss` = the mean per-step test cross-entropy over all T + 20 steps
divided by the memoryless baseline 10 ln 8 / (T + 20) (src/data/copying.c):
1 = the predictor that outputs blanks where the target is blank and a
uniform guess over the 8 symbols where it is not, 0 = perfect copying; lower
is better.  When a run directory's config.ini names a different
train.metric than its task's, the scripts stop rather than guess the
direction.
"""
import argparse
import csv
import importlib.machinery
import importlib.util
import os
import shutil
import statistics
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SEEDS = list(range(201, 211))
M_FAMILY = 42
T1_FINALS = os.path.join(ROOT, "experiments", "r3-t1-finals.csv")
FINALS = os.path.join(ROOT, "experiments", "r3-finals.csv")
TOL = 500
ALL = ["zo-i", "zo-co", "cmaes", "zo-sparse", "zo-guided", "zo-adapt", "zo-np"]
BASE = ["zo-i", "zo-co", "zo-np"]
LOWER = {"ser", "relative_loss"}
T1_ITERS = 60000  # T1 / T1q: 100 epochs of ZO-I at batch 100, budget T1_ITERS (Q + 1)


class Task:
    """n_max, q: the config's largest block and zo.Q, for the tolerance: a run
    counts if it stopped within one iteration's cost of its budget, ZO-NP's
    Fisher-update iteration (Q + 1 + N_max queries: the trainer stops before
    an iteration that would exceed the budget), at least TOL."""
    def __init__(self, key, title, pattern, methods, budget, metric, n_max, q):
        self.key, self.title, self.pattern, self.methods = key, title, pattern, methods
        self.budget, self.metric = budget, metric
        self.tol = max(TOL, n_max + q + 1)
        self.lower = metric in LOWER


# the family's tasks, in the pre-registration's order of the family
TASKS = {}
for _t in [
        Task("t1", "T1 at Q = 20", "r3-test-t1-s%d", ALL, T1_ITERS * 21, "accuracy", 431, 20),
        Task("t1q-q1", "T1q at Q = 1", "r3-test-t1q-q1-s%d", BASE, T1_ITERS * 2, "accuracy", 431, 1),
        Task("t1q-q5", "T1q at Q = 5", "r3-test-t1q-q5-s%d", BASE, T1_ITERS * 6, "accuracy", 431, 5),
        Task("t1q-q100", "T1q at Q = 100", "r3-test-t1q-q100-s%d", BASE, T1_ITERS * 101,
             "accuracy", 431, 100),
        Task("t2", "T2: MZI classifier K = 16, chip errors, MNIST-10k", "r3-test-t2-s%d", ALL,
             1260000, "accuracy", 512, 20),
        Task("t3", "T3: MZI equalizer, ISI channel", "r3-test-t3-s%d", ALL, 1000000, "ser", 28, 20),
        Task("t4a", "T4a: MZI RNN copying, T = 10", "r3-test-t4a-s%d", ALL, 160000,
             "relative_loss", 45, 20),
        Task("t4b", "T4b: MZI RNN copying, T = 30", "r3-test-t4b-s%d", ALL, 160000,
             "relative_loss", 45, 20),
        Task("t5", "T5: MLP-mixer, MNIST-10k", "r3-test-t5-s%d", ALL, 300000, "accuracy", 510, 20)]:
    TASKS[_t.key] = _t
T1_KEYS = {20: "t1", 1: "t1q-q1", 5: "t1q-q5", 100: "t1q-q100"}  # Q -> task key
OTHER_KEYS = ["t2", "t3", "t4a", "t4b", "t5"]
PLANNED = [(k, m) for k, t in TASKS.items() for m in t.methods if m != "zo-np"]
assert len(PLANNED) == M_FAMILY, len(PLANNED)


def load_compare():
    """experiments/compare as a module (its mann_whitney, wilcoxon_paired)."""
    path = os.path.join(ROOT, "experiments", "compare")
    loader = importlib.machinery.SourceFileLoader("compare_mod", path)
    spec = importlib.util.spec_from_loader("compare_mod", loader)
    mod = importlib.util.module_from_spec(spec)
    loader.exec_module(mod)
    return mod


def run_metric(d):
    """train.metric of a run directory's config.ini, or None."""
    path = os.path.join(d, "config.ini")
    if not os.path.exists(path):
        return None
    sec = ""
    with open(path) as f:
        for line in f:
            line = line.strip()
            if line.startswith("["):
                sec = line.strip("[]")
            elif sec == "train" and "=" in line and line.split("=", 1)[0].strip() == "metric":
                return line.split("=", 1)[1].split("#")[0].strip()
    return None


def read_run(d, budget, tol=TOL, metric=None):
    """(final test metric, queries, rows) of a finished run directory, or None.
    A run that stopped more than tol queries short of its budget is not
    counted (a finished run stops within one iteration of it)."""
    log = os.path.join(d, "log.csv")
    if not os.path.exists(log):
        return None
    with open(log) as f:
        rows = list(csv.DictReader(f))
    if not rows:
        return None
    got = run_metric(d)
    if metric and got and got != metric:
        sys.exit("r3: %s logs train.metric = %s, its task's is %s: the direction of the "
                 "comparison would be wrong" % (d, got, metric))
    last = rows[-1]
    q = int(last["queries"])
    if q < budget - tol:
        return None
    return float(last["test_metric"]), q, rows


def _queries(r):
    return int(r["queries"]) if r["queries"] else None


def read_t1_finals(path):
    """{Q: {method: {seed: (final, queries, None)}}} from T1's finals file."""
    got = {}
    if os.path.exists(path):
        with open(path) as f:
            for r in csv.DictReader(f):
                got.setdefault(int(r["Q"]), {}).setdefault(r["method"], {})[int(r["seed"])] = (
                    float(r["test_metric"]), _queries(r), None)
    return got


def write_t1_finals(runs, path):
    with open(path, "w") as f:
        f.write("Q,method,seed,test_metric,queries\n")
        for q in sorted(runs):
            for m in ALL:
                for s in sorted(runs[q].get(m, {})):
                    final, n, _ = runs[q][m][s]
                    f.write("%d,%s,%d,%.4f,%s\n" % (q, m, s, final, "" if n is None else n))


def read_finals(path):
    """{task: {method: {seed: (final, queries, None)}}} from the T2-T5 finals file."""
    got = {}
    if os.path.exists(path):
        with open(path) as f:
            for r in csv.DictReader(f):
                if r["task"] not in OTHER_KEYS:
                    sys.exit("r3: %s: unknown task %r" % (path, r["task"]))
                got.setdefault(r["task"], {}).setdefault(r["method"], {})[int(r["seed"])] = (
                    float(r["test_metric"]), _queries(r), None)
    return got


def write_finals(runs, path):
    """The T2-T5 finals file (6 decimals: SER and relative loss are small)."""
    with open(path, "w") as f:
        f.write("task,method,seed,test_metric,queries\n")
        for t in OTHER_KEYS:
            for m in ALL:
                for s in sorted(runs.get(t, {}).get(m, {})):
                    final, n, _ = runs[t][m][s]
                    f.write("%s,%s,%d,%.6f,%s\n" % (t, m, s, final, "" if n is None else n))


def _gather(out, runs, keys):
    """runs (read from a finals file) overridden by the run directories of
    the tasks keys {index in runs: task key} under out."""
    for i, key in keys.items():
        t = TASKS[key]
        for s in SEEDS:
            for m in t.methods:
                r = read_run(os.path.join(out, t.pattern % s, "%s-s%d" % (m, s)), t.budget,
                             t.tol, t.metric)
                if r:
                    runs.setdefault(i, {}).setdefault(m, {})[s] = r
    return runs


def gather_t1(out, path):
    """T1 / T1q by Q: the finals file, overridden by the run directories."""
    return _gather(out, read_t1_finals(path), T1_KEYS)


def gather_other(out, path):
    """T2-T5 by task key: the finals file, overridden by the run directories."""
    return _gather(out, read_finals(path), {k: k for k in OTHER_KEYS})


def by_key(t1_runs, other_runs):
    """{task key: {method: {seed: ...}}} of every task."""
    runs = {T1_KEYS[q]: v for q, v in t1_runs.items() if q in T1_KEYS}
    runs.update(other_runs)
    return runs


def holm(pvals, m):
    """Holm-adjusted p-values of the available ones in a family of m, the
    pending ones ranked last."""
    order = sorted(range(len(pvals)), key=lambda i: pvals[i])
    adj, run = [0.0] * len(pvals), 0.0
    for rank, i in enumerate(order):
        run = max(run, min(1.0, (m - rank) * pvals[i]))
        adj[i] = run
    return adj


def complete(runs, key, m):
    return len(runs.get(key, {}).get(m, {})) == len(SEEDS)


def family(runs, cmp):
    """(ps, adj): {(task key, method): exact two-sided MW p} of every available
    comparison of the 42, and its Holm-adjusted p over m = 42."""
    ps = {}
    for key, m in PLANNED:
        if complete(runs, key, m) and complete(runs, key, "zo-np"):
            np_runs, other = runs[key]["zo-np"], runs[key][m]
            _, p = cmp.mann_whitney([np_runs[s][0] for s in SEEDS], [other[s][0] for s in SEEDS])
            ps[(key, m)] = p
    keys = list(ps)
    adj = dict(zip(keys, holm([ps[k] for k in keys], M_FAMILY)))
    return ps, adj


def better(a, b, key):
    """Is metric value a better than b on the task?"""
    return a < b if TASKS[key].lower else a > b


def verdict(runs, key, m, adj):
    if (key, m) not in adj:
        return "pending"
    if adj[(key, m)] >= 0.05:
        return "not separated"
    med_np = statistics.median([runs[key]["zo-np"][s][0] for s in SEEDS])
    med = statistics.median([runs[key][m][s][0] for s in SEEDS])
    if med_np == med:  # neither better nor worse
        return "not separated"
    return "ZO-NP wins" if better(med_np, med, key) else "ZO-NP loses"


def ahead(runs, key, m):
    """(seeds where ZO-NP is better, seeds both have)."""
    np_runs, other = runs[key].get("zo-np", {}), runs[key].get(m, {})
    common = sorted(set(np_runs) & set(other))
    return sum(better(np_runs[s][0], other[s][0], key) for s in common), len(common)


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


COLORS = {"zo-i": "#1f77b4", "zo-co": "#2ca02c", "zo-np": "#d62728", "cmaes": "#9467bd",
          "zo-sparse": "#8c564b", "zo-guided": "#e377c2", "zo-adapt": "#7f7f7f"}


def curves(runs, png, grid, title, ylabel, yrange=None, min_seeds=len(SEEDS), slack=20,
           key="bottom right", extra=""):
    """The test metric against queries, mean over seeds with min..max shaded,
    as PNG.dat and (with gnuplot) PNG: at each query count of grid, each run's
    last evaluation at or before it (+ slack).  A method needs min_seeds
    counted runs; one whose runs come (partly) from a finals file keeps its
    columns of an existing .dat, else it is left out.  extra: gnuplot lines
    before the plot.  Returns the methods drawn."""
    dat = os.path.splitext(png)[0] + ".dat"
    kept = old_columns(dat)
    archived = {m for m in runs if not all(rows for _, _, rows in runs[m].values())}
    cols = [m for m in ALL if len(runs.get(m, {})) >= min_seeds and (m not in archived or m in kept)]
    if not cols:
        return []
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
                        if int(r["queries"]) <= q + slack:
                            best = float(r["test_metric"])
                    if best is not None:
                        at.append(best)
                vals.append("%.4f %.4f %.4f" % (statistics.mean(at), min(at), max(at))
                            if at else "NaN NaN NaN")
            f.write("%d %s\n" % (q, " ".join(vals)))
    if not shutil.which("gnuplot"):
        print("r3: no gnuplot: wrote %s only" % dat, file=sys.stderr)
        return cols
    plots = []
    for k, m in enumerate(cols):
        c = 2 + 3 * k
        plots.append("'%s' u 1:%d:%d w filledcurves fc rgb '%s' fs transparent solid 0.2 noborder notitle"
                     % (dat, c + 1, c + 2, COLORS[m]))
        plots.append("'%s' u 1:%d w l lw 2 lc rgb '%s' t '%s (mean of %d seeds; band: min..max)'"
                     % (dat, c, COLORS[m], m, len(runs[m])))
    script = ("set terminal pngcairo size 900,560 font ',11'\nset output '%s'\n"
              "set title '%s'\nset xlabel 'queries'\nset ylabel '%s'\nset key %s\nset grid\n"
              "%s%splot %s\n" % (png, title, ylabel, key,
                                 "set yrange [%s:%s]\n" % yrange if yrange else "", extra,
                                 ", \\\n  ".join(plots)))
    subprocess.run(["gnuplot"], input=script, text=True, check=True)
    return cols


def add_args(ap, own):
    """--out and the two finals files; own: 't1' or 'other', whose file is --finals."""
    ap.add_argument("--out", default=os.path.join(ROOT, "experiments", "out"))
    if own == "t1":
        ap.add_argument("--finals", default=T1_FINALS, help="T1's finals file (default: the committed one)")
        ap.add_argument("--tasks-finals", default=FINALS, help="T2-T5's finals file (default: the committed one)")
    else:
        ap.add_argument("--finals", default=FINALS, help="T2-T5's finals file (default: the committed one)")
        ap.add_argument("--t1-finals", default=T1_FINALS, help="T1's finals file (default: the committed one)")


def summary_line(ps):
    return ("%d of the %d planned comparisons available; Holm over m = %d, the pending ranked last."
            % (len(ps), M_FAMILY, M_FAMILY))


def main():
    ap = argparse.ArgumentParser(description="Round 3's family of 42 comparisons")
    ap.add_argument("--out", default=os.path.join(ROOT, "experiments", "out"))
    ap.add_argument("--t1-finals", default=T1_FINALS)
    ap.add_argument("--finals", default=FINALS, help="T2-T5's finals file")
    a = ap.parse_args()
    runs = by_key(gather_t1(a.out, a.t1_finals), gather_other(a.out, a.finals))
    ps, adj = family(runs, load_compare())
    print(summary_line(ps) + "\n")
    print("| task | ZO-NP vs | metric | p (exact MW) | Holm p (m = 42) | verdict |")
    print("|---|---|---|---|---|---|")
    for key, m in PLANNED:
        t = TASKS[key]
        d = "%s (%s)" % (t.metric, "lower better" if t.lower else "higher better")
        if (key, m) in ps:
            print("| %s | %s | %s | %.3g | %.3g | %s |" % (t.title, m, d, ps[(key, m)], adj[(key, m)],
                                                     verdict(runs, key, m, adj)))
        else:
            print("| %s | %s | %s | pending | — | pending |" % (t.title, m, d))


if __name__ == "__main__":
    sys.exit(main())
