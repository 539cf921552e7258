#!/usr/bin/python3
"""Secondary (post-hoc) endpoint: the test metric averaged over the last K
evaluation rows of each run (less sensitive to the evaluation-to-evaluation
noise of a single final snapshot), mean ± std over seeds and the exact
two-sided Mann-Whitney p of zo-np against each baseline.
usage: tail_metric.py COMPARE_OUT_DIR [K=10]"""
import csv, os, statistics, sys
from importlib.machinery import SourceFileLoader
HERE = os.path.dirname(os.path.abspath(__file__))
cmp = SourceFileLoader("compare", os.path.join(HERE, "compare")).load_module()
d = sys.argv[1]; k = int(sys.argv[2]) if len(sys.argv) > 2 else 10
runs = list(csv.DictReader(open(os.path.join(d, "runs.csv"))))
vals = {}
for r in runs:
    rows = cmp.read_log(os.path.join(d, "%s-s%s" % (r["method"], r["seed"]), "log.csv"))
    vals.setdefault(r["method"], []).append(statistics.mean(x["test_metric"] for x in rows[-k:]))
ref = vals.get("zo-np")
print("| method | mean of the last %d evaluations (mean ± std over seeds) | p (zo-np vs this) |" % k)
print("|---|---|---|")
for m, v in vals.items():
    p = "—" if m == "zo-np" else "%.3g" % cmp.mann_whitney(ref, v)[1]
    print("| %s | %.4f ± %.4f | %s |" % (m, statistics.mean(v), statistics.stdev(v), p))
