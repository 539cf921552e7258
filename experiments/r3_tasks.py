#!/usr/bin/python3
"""Round 3, tasks T2-T5 (experiments/preregistration-round3.md): the test
tables from the seed directories of `run-round3.sh test-t2` ... `test-t5`
(experiments/out/r3-test-<t>-s<seed>/<method>-s<seed>/log.csv), with the
pre-registered statistics: two-sided exact Mann-Whitney U of ZO-NP against
each of the 6 other methods, only once both have all 10 test seeds (201-210);
Holm over the ONE family of m = 42 planned comparisons (T1 and T1q's
included: experiments/r3_family.py, shared with r3_t1.py, so both scripts
print the same Holm p for the same comparison), the pending ones ranked last;
win / loss / not separated, with the task's direction.  The paired
signed-rank p is shown, not used (pre-registered).

    experiments/r3_tasks.py [--out DIR] [--tasks t2,t3,t4a,t4b,t5] [--update-finals]
                            [--finals FILE] [--t1-finals FILE] [--png-dir docs/img]

Tasks, budgets (a run counts if it ended within its task's tolerance of the
budget: 500 queries, or one ZO-NP Fisher-update iteration, Q + 1 + N_max,
where that is more: T2 533, T5 531; r3_family.Task) and the compared
`test_metric` of log.csv (its last row: the evaluation at the end of the
budget):
  t2   MZI classifier K = 16 with chip errors, MNIST-10k, 1,260,000: accuracy,
       higher is better (model.kind mzi-classifier's default metric)
  t3   MZI equalizer, ISI channel, 1,000,000: ser = 1 - symbol accuracy on the
       test windows, lower is better (mzi-equalizer's default)
  t4a  MZI RNN copying, T = 10, 160,000 } relative_loss, lower is better
  t4b  the same at T = 30, 160,000      } (mzi-rnn's default)
  t5   MLP-mixer, MNIST-10k, 300,000: accuracy, higher is better
None of the four configs sets train.metric; src/tasks/models.c gives each
model kind its metric and src/cli/task.c computes it.  relative_loss is the
test loss (mean cross-entropy per step, over all T + 20 steps of a sequence,
blanks included: src/zo/loss.c) divided by the memoryless baseline
10 ln 8 / (T + 20) (src/data/copying.c): the loss of a predictor that is
certain of the blanks and guesses the 8 symbols uniformly.  1 is that
baseline, 0 perfect copying; a model that also does not know when the
symbols are due (e.g. uniform over the 9 classes at every step) is above 1.
The pre-registration's "loss relative to the memoryless baseline" is this
ratio; lower is better.  A run directory whose config.ini names another
train.metric stops the script (r3_family.read_run).

Per task and method: seeds counted, mean ± sd, median, the validation pick
(experiments/pick_lr.py on experiments/out/r3-val-<t> when it is here, else on
experiments/r3-val/r3-val-<t>-runs.csv, the grid's committed archive; an
edge pick is flagged: after the edge rule, or before it when its extension
is not in the grid yet), the papers' figure where one exists (AAAI Table 3,
K = 16, for T2 only), ZO-NP better on k / n seeds, the raw p, Holm p and
verdict; then the finals per seed, and the runs not counted (short of
the budget).  --png-dir writes r3-<t>.png (+ .dat) per task with runs: the
test metric against queries, mean over the seeds counted, min..max shaded.

Every final is also kept in experiments/r3-finals.csv (committed; columns
task,method,seed,test_metric,queries; --update-finals merges the run
directories' finals into it, a run directory taking precedence over the
file), so the tables survive the loss of experiments/out.
"""
import argparse
import csv
import os
import statistics
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import r3_family as fam  # noqa: E402

SEEDS = fam.SEEDS
LRS_LO = [0.001, 0.002, 0.005, 0.01]  # T2, T5 (run-round3.sh LRS_LO)
LRS_HI = [0.002, 0.005, 0.01, 0.02]  # T3, T4
SIGMAS = [0.01, 0.03, 0.1]  # CMA-ES sigma0
GRID = {"t2": LRS_LO, "t3": LRS_HI, "t4a": LRS_HI, "t4b": LRS_HI, "t5": LRS_LO}
# AAAI Table 3 (MZI feed-forward, MNIST, K = 16; 10 backprop epochs then 100 ZO epochs on full
# MNIST: not our protocol, which trains by ZO only on MNIST-10k); ZO-NP's is the paper's
# layered / natural (Sigma) row.  No paper figure is quoted for T3, T4 or T5.
PAPER = {"t2": {"zo-i": 0.7918, "zo-co": 0.7937, "zo-np": 0.7960, "cmaes": 0.7888}}
PAPER_NOTE = {"t2": "AAAI Table 3, K = 16; full MNIST, backprop start"}
FMT = {"accuracy": "%.4f", "ser": "%.5f", "relative_loss": "%.4f"}
YLABEL = {"accuracy": "test accuracy", "ser": "test SER (lower is better)",
          "relative_loss": "test loss / memoryless baseline (lower is better)"}


def val_picks(out, t, archive=os.path.join(fam.ROOT, "experiments", "r3-val")):
    """{method: (key 'lr' or 'sigma0', value, flag)} of the validation grid
    experiments/out/r3-val-<t> (pick_lr.py), else of its archived runs.csv
    (experiments/r3-val/r3-val-<t>-runs.csv, run-round3.sh's archive_val), or
    {} when neither is here."""
    csv_path = os.path.join(out, "r3-val-%s" % t, "runs.csv")
    if not os.path.exists(csv_path):
        csv_path = os.path.join(archive, "r3-val-%s-runs.csv" % t)
    if not os.path.exists(csv_path):
        return {}
    r = subprocess.run([sys.executable, os.path.join(fam.ROOT, "experiments", "pick_lr.py"),
                        csv_path], capture_output=True, text=True)
    if r.returncode != 0:
        return {}
    tried = {}  # method -> the values in its grid
    with open(csv_path) as f:
        for row in list(csv.reader(f))[1:]:
            for tag in ("@lr", "@sigma"):
                if tag in row[0]:
                    m, v = row[0].split(tag, 1)
                    tried.setdefault(m, set()).add(float(v))
    picks = {}
    for arg in r.stdout.split():
        if ":" not in arg or "=" not in arg:
            continue
        m, kv = arg.split(":", 1)
        k, v = kv.split("=", 1)
        v = float(v)
        grid = SIGMAS if k == "zo.cmaes_sigma" else GRID[t]
        vals = tried.get(m, {v})
        flag = ""
        if v in (min(vals), max(vals)):
            beyond = min(vals) < min(grid) if v == min(vals) else max(vals) > max(grid)
            flag = "edge pick after the edge rule" if beyond else "at the grid edge, edge rule not run"
        picks[m] = ("sigma0" if k == "zo.cmaes_sigma" else "lr", v, flag)
    return picks


def short_runs(out, t):
    """[(method, seed, queries)] of run directories that stopped short of the budget."""
    task, got = fam.TASKS[t], []
    for s in SEEDS:
        for m in task.methods:
            d = os.path.join(out, task.pattern % s, "%s-s%d" % (m, s))
            if os.path.exists(os.path.join(d, "log.csv")) and not fam.read_run(
                    d, task.budget, task.tol, task.metric):
                with open(os.path.join(d, "log.csv")) as f:
                    rows = list(csv.DictReader(f))
                got.append((m, s, int(rows[-1]["queries"]) if rows else 0))
    return got


def table(t, every, ps, adj, picks, short, cmp):
    task = fam.TASKS[t]
    runs = every.get(t, {})
    fmt = FMT[task.metric]
    paper = PAPER.get(t, {})
    print("%s (budget %d queries; %s, %s is better):" % (
        task.title, task.budget, task.metric, "lower" if task.lower else "higher"))
    print("| method | seeds done | mean ± sd | median | validation pick | paper%s | ZO-NP better on "
          "| p (exact MW) | paired p (not used) | Holm p (m = 42) | verdict |"
          % (" (%s)" % PAPER_NOTE[t] if t in PAPER_NOTE else ""))
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    np_runs = runs.get("zo-np", {})
    for m in task.methods:
        got = runs.get(m, {})
        pk = picks.get(m)
        pick = "—" if not pk else "%s %g%s" % (pk[0], pk[1], " (**%s**)" % pk[2] if pk[2] else "")
        pp = (fmt % paper[m]) if m in paper else "—"
        if not got:
            cells = [m, "0 of 10", "", "", pick, pp, "", "pending", "—", "—", "pending"]
            print("| " + " | ".join(cells) + " |")
            continue
        v = [got[s][0] for s in sorted(got)]
        cells = [m, "%d of 10" % len(v),
                 (fmt + " ± " + fmt) % (statistics.mean(v), statistics.stdev(v) if len(v) > 1 else 0.0),
                 fmt % statistics.median(v), pick, pp]
        if m == "zo-np":
            cells += ["—", "—", "—", "—", "—"]
        else:
            cells.append("%d / %d seeds" % fam.ahead(every, t, m))
            if (t, m) in ps:
                paired = cmp.wilcoxon_paired([np_runs[s][0] for s in SEEDS], [got[s][0] for s in SEEDS])
                cells += ["%.3g" % ps[(t, m)], "%.3g" % paired, "%.3g" % adj[(t, m)],
                          fam.verdict(every, t, m, adj)]
            else:
                cells += ["pending (no test before 10 seeds)", "—", "—", "pending"]
        print("| " + " | ".join(cells) + " |")
    have = [m for m in task.methods if m in runs]
    if have:
        print("\nPer seed (final test %s), %s:" % (task.metric, t.upper()))
        print("| seed | " + " | ".join(have) + " |")
        print("|---|" + "---|" * len(have))
        for s in SEEDS:
            print("| %d | %s |" % (s, " | ".join(fmt % runs[m][s][0] if s in runs[m] else "–"
                                                 for m in have)))
    if short:
        print("\nNot counted (stopped more than %d queries short of the budget): %s"
              % (task.tol, ", ".join("%s seed %d (%d queries)" % x for x in short)))
    print()


def main():
    ap = argparse.ArgumentParser()
    fam.add_args(ap, "other")
    ap.add_argument("--tasks", default=",".join(fam.OTHER_KEYS))
    ap.add_argument("--update-finals", action="store_true")
    ap.add_argument("--val-archive", default=os.path.join(fam.ROOT, "experiments", "r3-val"),
                    help="archived validation grids, r3-val-<t>-runs.csv (used when --out has no r3-val-<t>)")
    ap.add_argument("--png-dir", default=None, help="writes r3-<t>.png and .dat there")
    a = ap.parse_args()
    tasks = [t for t in a.tasks.split(",") if t]
    for t in tasks:
        if t not in fam.OTHER_KEYS:
            sys.exit("r3_tasks.py: no task %s (%s)" % (t, ", ".join(fam.OTHER_KEYS)))
    runs = fam.gather_other(a.out, a.finals)
    if a.update_finals:
        fam.write_finals(runs, a.finals)
    every = fam.by_key(fam.gather_t1(a.out, a.t1_finals), runs)
    cmp = fam.load_compare()
    ps, adj = fam.family(every, cmp)
    print(fam.summary_line(ps) + "\n")
    for t in tasks:
        table(t, every, ps, adj, val_picks(a.out, t, a.val_archive), short_runs(a.out, t), cmp)
    if a.png_dir:
        os.makedirs(a.png_dir, exist_ok=True)
        for t in tasks:
            task = fam.TASKS[t]
            if not runs.get(t):
                print("no runs of %s: no curves" % t)
                continue
            png = os.path.join(a.png_dir, "r3-%s.png" % t)
            drawn = fam.curves(
                runs[t], png, [int(round(task.budget * k / 60.0)) for k in range(1, 61)],
                "Round 3, %s, test seeds 201-210" % task.title, YLABEL[task.metric],
                min_seeds=1, slack=20,
                key="top right" if task.lower else "bottom right",
                extra="set logscale y\n" if task.metric == "relative_loss" else "")
            print("wrote %s (%s)" % (png, ", ".join(drawn)) if drawn else "no curves of %s" % t)


if __name__ == "__main__":
    sys.exit(main())
