#!/usr/bin/python3
"""grid_table.py DIR: a markdown table of a validation grid run by compare
(runs named METHOD@lrX-sSEED), from each run's final.txt, also while the
grid is still running (unfinished runs show as "running" or are absent).
Rows: method; cells: lr -> per-seed final metric and their mean."""
import os
import re
import sys


def main(d):
    cells = {}
    seeds = set()
    for name in sorted(os.listdir(d)):
        m = re.match(r"(.+)@lr([0-9.e-]+)-s(\d+)$", name)
        if not m or not os.path.isdir(os.path.join(d, name)):
            continue
        meth, lr, seed = m.group(1), float(m.group(2)), int(m.group(3))
        seeds.add(seed)
        final = os.path.join(d, name, "final.txt")
        val = None
        if os.path.exists(final):
            with open(final) as f:
                mm = re.search(r"test_metric=([0-9.eE+-]+)", f.readline())
                val = float(mm.group(1)) if mm else None
        cells.setdefault(meth, {}).setdefault(lr, {})[seed] = val
    seeds = sorted(seeds)
    lrs = sorted({lr for m in cells.values() for lr in m})
    print("| method | " + " | ".join("lr %g: %s → mean" % (lr, ", ".join("s%d" % s for s in seeds))
                                    for lr in lrs) + " |")
    print("|---" * (len(lrs) + 1) + "|")
    for meth in sorted(cells):
        row = []
        for lr in lrs:
            got = cells[meth].get(lr, {})
            vals = [got.get(s) for s in seeds]
            txt = ", ".join("%.4f" % v if v is not None else ("running" if s in got else "—")
                            for v, s in zip(vals, seeds))
            done = [v for v in vals if v is not None]
            mean = " → **%.4f**" % (sum(done) / len(done)) if len(done) == len(seeds) else ""
            row.append(txt + mean)
        print("| %s | %s |" % (meth, " | ".join(row)))


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    main(sys.argv[1])
