#!/usr/bin/env python3
"""Pick each method's learning rate from a validation grid run by compare.

usage: pick_lr.py GRID_DIR [GRID_DIR ...]   (or a grid's runs.csv itself, e.g. an archived one)

GRID_DIR is a compare output whose methods are named METHOD@lrX (run with
--method-set METHOD@lrX:zo.lr=X) or, for CMA-ES's one tuned setting,
METHOD@sigmaX (--method-set cmaes@sigmaX:zo.cmaes_sigma=X).  For every METHOD, prints the lr with the
best mean validation metric over the grid's seeds (lower is better for ser
and relative_loss, higher for accuracy), ties to the smaller lr, as
`--method-set METHOD:zo.lr=X` arguments for the test comparison on one line,
and the whole grid as a markdown table on stderr.  Several GRID_DIRs are
pooled (e.g. the same grid at two seeds ranges)."""
import csv
import os
import statistics
import sys
from collections import defaultdict

LOWER = {"ser", "relative_loss"}
KEYS = {"lr": "zo.lr", "sigma": "zo.cmaes_sigma"}  # label prefix -> config key


def main(dirs):
    vals = defaultdict(list)  # (method, lr) -> metrics
    keyof = {}  # method -> the config key its grid varies
    metric = None
    for d in dirs:
        with open(d if os.path.isfile(d) else os.path.join(d, "runs.csv")) as f:
            rows = list(csv.reader(f))
        head, rows = rows[0], rows[1:]
        metric = head[2]
        for r in rows:
            name = r[0]
            for prefix, key in KEYS.items():
                if "@" + prefix in name:
                    m, lr = name.split("@" + prefix, 1)
                    vals[(m, float(lr))].append(float(r[2]))
                    keyof[m] = key
    if not vals:
        sys.exit("pick_lr.py: no METHOD@lrX or METHOD@sigmaX runs in %s" % ", ".join(dirs))
    lower = metric in LOWER
    methods = sorted({m for m, _ in vals})
    lrs = sorted({lr for _, lr in vals})
    out = []
    print("| method | " + " | ".join("%g" % lr for lr in lrs) + " | chosen |",
          file=sys.stderr)
    print("|---" * (len(lrs) + 2) + "|", file=sys.stderr)
    for m in methods:
        cands = [(statistics.mean(vals[(m, lr)]), lr) for lr in lrs if (m, lr) in vals]
        best = min(cands, key=lambda c: (c[0] if lower else -c[0], c[1]))
        cells = []
        for lr in lrs:
            v = vals.get((m, lr))
            cell = "%.4f" % statistics.mean(v) if v else "—"
            if v and lr == best[1]:
                cell = "**%s**" % cell
            cells.append(cell)
        print("| %s | %s | %g |" % (m, " | ".join(cells), best[1]), file=sys.stderr)
        out.append("--method-set %s:%s=%g" % (m, keyof[m], best[1]))
    print(" ".join(out))


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    main(sys.argv[1:])
