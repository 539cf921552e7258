#!/usr/bin/env bash
# experiments/r3_tasks.py (T2-T5), r3_t1.py and r3_family.py on made-up run
# directories (no training, no data): the exact two-sided Mann-Whitney p of
# ZO-NP against each method checked against an independent count of the
# null distribution of U; Holm over the one family of m = 42, with p-values
# of T1q and of T2-T5, the same adjusted value from every script and equal
# to an independent Holm; the direction (lower SER / relative loss is
# better: ZO-NP lower is a win); "pending" before 10 seeds; a run short of
# its budget not counted (T2's tolerance of 533, T5's 531); a config.ini naming
# another metric refused; the finals file written by --update-finals and the
# same tables rebuilt from it alone; validation picks with the edge flag;
# the curves' .dat.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3
T="$(mktemp -d "${TMPDIR:-/tmp}/zoptic-r3t-XXXXXX")"
trap '[ -n "${KEEP:-}" ] || rm -rf "$T"' EXIT
fails=0
fail() { echo "FAIL: $*" >&2; fails=$((fails + 1)); }

# The made-up runs: DIR QUERIES FINAL METRIC per line, from one table of values
# (seed i = 1..10 is test seed 200 + i; no ties inside a comparison).
"$PY" - "$T" <<'EOF'
import os, sys
T = sys.argv[1]
def run(task_dir, m, s, q, final, metric):
    d = os.path.join(T, "out", "%s-s%d" % (task_dir, s), "%s-s%d" % (m, s))
    os.makedirs(d)
    with open(os.path.join(d, "log.csv"), "w") as f:
        f.write("iteration,queries,test_metric\n1,%d,0.5\n2,%d,%.6f\n" % (q // 2, q, final))
    with open(os.path.join(d, "config.ini"), "w") as f:
        f.write("[train]\nmetric = %s\n" % metric)
for i in range(1, 11):
    s = 200 + i
    # T1q at Q = 5 (360,000): ZO-NP above ZO-I on every seed; ZO-co 6.5 steps below ZO-NP
    run("r3-test-t1q-q5", "zo-np", s, 360000, 0.8 + 0.001 * i, "accuracy")
    run("r3-test-t1q-q5", "zo-i", s, 360000, 0.7 + 0.001 * i, "accuracy")
    run("r3-test-t1q-q5", "zo-co", s, 360000, 0.8 + 0.001 * i - 0.0065, "accuracy")
    # T2 (1,260,000, accuracy): ZO-NP 400 short (counted); ZO-I 5.5 steps below;
    # ZO-co 9 seeds; CMA-ES's seed 210 stopped 534 short (T2 counts 533 short:
    # Q + 1 + N_max 512); zo-sparse interleaved
    run("r3-test-t2", "zo-np", s, 1259600, 0.75 + 0.001 * i, "accuracy")
    run("r3-test-t2", "zo-i", s, 1260000, 0.75 + 0.001 * i - 0.0055, "accuracy")
    if s != 210:
        run("r3-test-t2", "zo-co", s, 1260000, 0.6 + 0.001 * i, "accuracy")
    run("r3-test-t2", "cmaes", s, 1259466 if s == 210 else 1260000, 0.5 + 0.001 * i, "accuracy")
    run("r3-test-t2", "zo-sparse", s, 1260000, 0.75 + 0.001 * i - 0.0005, "accuracy")
    # T3 (1,000,000, SER: lower is better): ZO-NP below ZO-I everywhere, above ZO-co
    run("r3-test-t3", "zo-np", s, 1000000, 0.010 + 0.0001 * i, "ser")
    run("r3-test-t3", "zo-i", s, 1000000, 0.020 + 0.0001 * i, "ser")
    run("r3-test-t3", "zo-co", s, 1000000, 0.005 + 0.0001 * i, "ser")
    # T4a (160,000, relative loss: lower is better): ZO-NP lower than ZO-I everywhere
    run("r3-test-t4a", "zo-np", s, 160000, 0.5 + 0.001 * i, "relative_loss")
    run("r3-test-t4a", "zo-i", s, 160000, 0.9 + 0.001 * i, "relative_loss")
    # T5 (300,000): ZO-NP stopped 520 short (one Fisher-update iteration at N_max 510: counted)
    run("r3-test-t5", "zo-np", s, 299480, 0.9 + 0.001 * i, "accuracy")
    run("r3-test-t5", "zo-i", s, 300000, 0.9 + 0.001 * i - 0.0025, "accuracy")
EOF

E="$ROOT/experiments"
"$PY" "$E/r3_tasks.py" --out "$T/out" --finals "$T/finals.csv" --t1-finals "$T/t1.csv" \
  --update-finals --png-dir "$T/img" --tasks t2,t3,t4a,t4b,t5 >"$T/tasks.md"
"$PY" "$E/r3_t1.py" --out "$T/out" --finals "$T/t1.csv" --tasks-finals "$T/finals.csv" \
  --update-finals >"$T/t1.md"
"$PY" "$E/r3_family.py" --out "$T/out" --t1-finals "$T/t1.csv" --finals "$T/finals.csv" >"$T/family.md"

# The statistics, computed here without experiments/compare: the null
# distribution of U by the recursion f(n1, n2, u) = f(n1 - 1, n2, u - n2) +
# f(n1, n2 - 1, u) (is the largest value an x or a y?), then Holm over 42.
"$PY" - "$T" <<'EOF' || fails=$((fails + 1))
import math, os, statistics, sys
from functools import lru_cache
T = sys.argv[1]
bad = []

@lru_cache(maxsize=None)
def f(n1, n2, u):
    if u < 0:
        return 0
    if n1 == 0 or n2 == 0:
        return 1 if u == 0 else 0
    return f(n1 - 1, n2, u - n2) + f(n1, n2 - 1, u)

def mw(x, y):
    u = sum(a > b for a in x for b in y)
    mean = len(x) * len(y) / 2
    hits = sum(f(len(x), len(y), v) for v in range(len(x) * len(y) + 1)
               if abs(v - mean) >= abs(u - mean))
    return hits / math.comb(len(x) + len(y), len(x))

I = range(1, 11)
data = {  # (task key, method): (ZO-NP's finals, the method's), seeds 201-210
    ("t1q-q5", "zo-i"): ([0.8 + 0.001 * i for i in I], [0.7 + 0.001 * i for i in I]),
    ("t1q-q5", "zo-co"): ([0.8 + 0.001 * i for i in I], [0.8 + 0.001 * i - 0.0065 for i in I]),
    ("t2", "zo-i"): ([0.75 + 0.001 * i for i in I], [0.75 + 0.001 * i - 0.0055 for i in I]),
    ("t2", "zo-sparse"): ([0.75 + 0.001 * i for i in I], [0.75 + 0.001 * i - 0.0005 for i in I]),
    ("t3", "zo-i"): ([0.010 + 0.0001 * i for i in I], [0.020 + 0.0001 * i for i in I]),
    ("t3", "zo-co"): ([0.010 + 0.0001 * i for i in I], [0.005 + 0.0001 * i for i in I]),
    ("t4a", "zo-i"): ([0.5 + 0.001 * i for i in I], [0.9 + 0.001 * i for i in I]),
    ("t5", "zo-i"): ([0.9 + 0.001 * i for i in I], [0.9 + 0.001 * i - 0.0025 for i in I]),
}
p = {k: mw(*v) for k, v in data.items()}
# a hand case: 10 + 10 fully separated, 2 of C(20, 10) splits as extreme
if abs(p[("t3", "zo-i")] - 2 / 184756) > 1e-15:
    bad.append("independent MW: %g is not 2/C(20,10)" % p[("t3", "zo-i")])
order = sorted(p, key=lambda k: p[k])
holm, run = {}, 0.0
for rank, k in enumerate(order):
    run = max(run, min(1.0, (42 - rank) * p[k]))
    holm[k] = run
if "%.3g" % holm[("t1q-q5", "zo-co")] == "%.3g" % min(1, 41 * p[("t1q-q5", "zo-co")]):
    bad.append("made-up data: T2-T5 must change T1q's Holm multiplier")

def rows(md, head):
    """{method: cells} of the table under the line starting with head."""
    lines = open(os.path.join(T, md)).read().split("\n")
    k = next(i for i, l in enumerate(lines) if l.startswith(head))
    out = {}
    for l in lines[k + 3:]:
        if not l.startswith("|"):
            break
        c = [x.strip() for x in l.strip("|").split("|")]
        out[c[0]] = c
    return out

heads = {"t1q-q5": ("t1.md", "T1 at Q = 5 ("), "t2": ("tasks.md", "T2:"),
         "t3": ("tasks.md", "T3:"), "t4a": ("tasks.md", "T4a:"), "t5": ("tasks.md", "T5:")}
fam = []  # the rows of r3_family.py's table of the 42
for l in open(os.path.join(T, "family.md")):
    c = [x.strip() for x in l.strip().strip("|").split("|")]
    if len(c) == 6 and c[3] not in ("p (exact MW)", "---"):
        fam.append(c)
titles = {"t1q-q5": "T1q", "t2": "T2", "t3": "T3", "t4a": "T4a", "t5": "T5"}
for k in data:
    md, head = heads[k[0]]
    c = rows(md, head)[k[1]]
    want_p, want_h = "%.3g" % p[k], "%.3g" % holm[k]
    # r3_t1.py: ... | p | Holm p | verdict;  r3_tasks.py: ... | p | paired p | Holm p | verdict
    got_p, got_h = (c[6], c[7]) if md == "t1.md" else (c[7], c[9])
    if got_p != want_p:
        bad.append("%s: exact MW p %s, independent %s" % (k, got_p, want_p))
    if got_h != want_h:
        bad.append("%s: Holm p (m = 42) %s, independent %s (%s)" % (k, got_h, want_h, md))
    fr = [r for r in fam if r[1] == k[1] and r[0].split(":")[0].split(" at")[0] == titles[k[0]]
          and (k[0] != "t1q-q5" or r[0] == "T1q at Q = 5")]
    if len(fr) != 1 or fr[0][3] != want_p or fr[0][4] != got_h:
        bad.append("%s: r3_family.py's row %s differs from %s's Holm p %s" % (k, fr, md, got_h))
verdicts = {("t1q-q5", "zo-i"): "ZO-NP wins", ("t3", "zo-i"): "ZO-NP wins",
            ("t3", "zo-co"): "ZO-NP loses", ("t4a", "zo-i"): "ZO-NP wins",
            ("t2", "zo-sparse"): "not separated"}
for k, v in verdicts.items():
    md, head = heads[k[0]]
    if rows(md, head)[k[1]][-1] != v:
        bad.append("%s: verdict %r, expected %r" % (k, rows(md, head)[k[1]][-1], v))
if rows("tasks.md", "T3:")["zo-i"][6] != "10 / 10 seeds":
    bad.append("T3: ZO-NP's lower SER must count as better: %s" % rows("tasks.md", "T3:")["zo-i"])
for md in ("tasks.md", "t1.md", "family.md"):
    if "8 of the 42 planned comparisons available" not in open(os.path.join(T, md)).read():
        bad.append("%s: expected 8 of the 42 comparisons available" % md)
for m in ("zo-co", "cmaes"):  # 9 seeds; CMA-ES's seed 210 short of the budget
    c = rows("tasks.md", "T2:")[m]
    if c[1] != "9 of 10" or c[-1] != "pending" or c[7] != "pending (no test before 10 seeds)":
        bad.append("T2 %s must be pending with 9 seeds: %s" % (m, c))
if rows("tasks.md", "T5:")["zo-np"][1] != "10 of 10":
    bad.append("T5: ZO-NP 520 queries short (one Fisher-update iteration) must count")
if rows("tasks.md", "T2:")["zo-np"][3] != "%.4f" % statistics.median(data[("t2", "zo-i")][0]):
    bad.append("T2: ZO-NP's median")
if "Not counted (stopped more than 533 queries short of the budget): cmaes seed 210 (1259466 queries)" \
        not in open(os.path.join(T, "tasks.md")).read():
    bad.append("tasks.md: the short CMA-ES run must be listed as not counted")
if rows("tasks.md", "T2:")["zo-i"][5] != "0.7918" or rows("tasks.md", "T3:")["zo-i"][5] != "—":
    bad.append("the paper's figure: AAAI K = 16 beside T2 only")
fin = open(os.path.join(T, "finals.csv")).read().split("\n")
if fin[0] != "task,method,seed,test_metric,queries" or "t3,zo-np,201,0.010100,1000000" not in fin \
        or any(l.startswith("t2,cmaes,210,") for l in fin) or len([l for l in fin if l]) != 1 + 10 * 12 - 2:
    bad.append("finals.csv: header, rows or the short run (%d lines)" % len(fin))
dat = open(os.path.join(T, "img", "r3-t3.dat")).read().split("\n")
last = [l for l in dat if l.startswith("1000000 ")]
heads_ = dat[0].split()[2:]
if not last or "%.4f" % statistics.mean(data[("t3", "zo-i")][0]) != \
        last[0].split()[1 + heads_.index("zo-np_mean")]:
    bad.append("r3-t3.dat: ZO-NP's mean at the budget (%s)" % last)
for b in bad:
    print("FAIL: " + b, file=sys.stderr)
sys.exit(1 if bad else 0)
EOF

grep -q "no runs of t4b: no curves" "$T/tasks.md" || fail "a task without runs must skip its curves"
# without the run directories, the same tables come from the finals files
"$PY" "$E/r3_tasks.py" --out "$T/none" --finals "$T/finals.csv" --t1-finals "$T/t1.csv" >"$T/tasks2.md"
diff <(grep -v '^Not counted\|^wrote\|^no runs' "$T/tasks.md" | cat -s) <(cat -s "$T/tasks2.md") >/dev/null ||
  fail "T2-T5 tables from the finals files differ from the run directories'"
"$PY" "$E/r3_t1.py" --out "$T/none" --finals "$T/t1.csv" --tasks-finals "$T/finals.csv" >"$T/t1b.md"
cmp -s "$T/t1.md" "$T/t1b.md" || fail "T1 tables from the finals files differ"
# a run directory naming another metric than its task's is refused
mkdir -p "$T/bad/r3-test-t3-s201" && cp -r "$T/out/r3-test-t3-s201/zo-i-s201" "$T/bad/r3-test-t3-s201/"
printf '[train]\nmetric = accuracy\n' >"$T/bad/r3-test-t3-s201/zo-i-s201/config.ini"
if "$PY" "$E/r3_tasks.py" --out "$T/bad" --finals "$T/none.csv" --t1-finals "$T/none.csv" \
   >/dev/null 2>"$T/err"; then
  fail "a T3 run logging accuracy must be refused"
fi
grep -q "train.metric = accuracy, its task's is ser" "$T/err" || fail "refusal message: $(cat "$T/err")"
# validation picks (pick_lr.py) and the edge flag, on a made-up T3 grid (SER: lower is better)
mkdir -p "$T/val/r3-val-t3"
{
  echo "method,seed,ser,test_loss,queries"
  for s in 1001 1002; do
    # zo-i: best 0.005 (inside); zo-co: best 0.02 (edge, not extended);
    # zo-np: best 0.04 (the extension: edge after the rule); cmaes: best sigma0 0.03
    for x in 0.002:0.3 0.005:0.1 0.01:0.2 0.02:0.4; do echo "zo-i@lr${x%:*},$s,${x#*:},1,1000000"; done
    for x in 0.002:0.4 0.005:0.3 0.01:0.2 0.02:0.1; do echo "zo-co@lr${x%:*},$s,${x#*:},1,1000000"; done
    for x in 0.002:0.5 0.005:0.4 0.01:0.3 0.02:0.2 0.04:0.1; do echo "zo-np@lr${x%:*},$s,${x#*:},1,1000000"; done
    for x in 0.01:0.3 0.03:0.1 0.1:0.2; do echo "cmaes@sigma${x%:*},$s,${x#*:},1,1000000"; done
  done
} >"$T/val/r3-val-t3/runs.csv"
v=$("$PY" "$E/r3_tasks.py" --out "$T/val" --tasks t3 --finals "$T/finals.csv" --t1-finals "$T/t1.csv")
pick() { grep "^| $1 |" <<<"$v" | awk -F'|' '{ gsub(/^ +| +$/, "", $6); print $6 }'; }
[ "$(pick zo-i)" = "lr 0.005" ] || fail "zo-i pick: $(pick zo-i)"
[ "$(pick zo-co)" = "lr 0.02 (**at the grid edge, edge rule not run**)" ] || fail "zo-co pick: $(pick zo-co)"
[ "$(pick zo-np)" = "lr 0.04 (**edge pick after the edge rule**)" ] || fail "zo-np pick: $(pick zo-np)"
[ "$(pick cmaes)" = "sigma0 0.03" ] || fail "cmaes pick: $(pick cmaes)"
[ "$(pick zo-adapt)" = "—" ] || fail "no grid for zo-adapt: $(pick zo-adapt)"
# the same picks from the grid's archive when the output directory is gone
mkdir -p "$T/arch" "$T/val2" && cp "$T/val/r3-val-t3/runs.csv" "$T/arch/r3-val-t3-runs.csv"
v2=$("$PY" "$E/r3_tasks.py" --out "$T/val2" --val-archive "$T/arch" --tasks t3 --finals "$T/finals.csv" --t1-finals "$T/t1.csv")
[ "$(grep '^| zo-' <<<"$v2")" = "$(grep '^| zo-' <<<"$v")" ] && grep -q "edge pick after the edge rule" <<<"$v2" ||
  fail "picks from the archive differ from the grid's: $v2"

[ "$fails" -eq 0 ] || { echo "r3_tasks_test: $fails failure(s)"; exit 1; }
echo "r3_tasks_test: ok"
