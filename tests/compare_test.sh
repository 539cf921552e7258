#!/usr/bin/env bash
# Smoke test of experiments/compare on two generated tasks (no data files):
# the MZI equalizer (ISI channel) and the copying RNN (delay 3), three
# methods x 2 seeds at a tiny fixed budget. Asserts only what is robust:
# every run completes, zo-i / zo-co spend exactly (Q+1) x iterations queries,
# zo-np that plus its Jacobian queries (within the budget), the mean training
# loss of every method decreases, and the summary carries a p-value per
# baseline. (No claim about which method wins: that needs the budgets and
# seeds of docs/results.md.)
set -euo pipefail
B="$(cd "${BUILD:-build}" && pwd)"
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3
T="$(mktemp -d "${TMPDIR:-/tmp}/zoptic-compare-XXXXXX")"
trap 'rm -rf "$T"' EXIT
fails=0
fail() { echo "FAIL: $*" >&2; fails=$((fails + 1)); }

check_out() { # DIR BUDGET Q
  local d=$1 budget=$2 q=$3
  [ -s "$d/summary.md" ] || { fail "$d: no summary.md"; return; }
  [ -s "$d/curve.dat" ] || fail "$d: no curve.dat"
  [ "$(grep -c '^zo-' "$d/runs.csv")" -eq 6 ] || fail "$d: expected 6 runs in runs.csv"
  "$PY" - "$d/runs.csv" "$budget" "$q" <<'PYEOF' || fail "$d: runs.csv check failed"
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1])))
budget, q = int(sys.argv[2]), int(sys.argv[3])
ok = True
for r in rows:
    queries, iters = int(r["queries"]), int(r["iterations"])
    jac = int(r["jacobian_queries"])
    if queries > budget or r["query_check"] != "ok":
        print("bad accounting", r); ok = False
    if r["method"] in ("zo-i", "zo-co") and queries != (q + 1) * iters:
        print("zo-i/zo-co queries != (Q+1) iterations", r); ok = False
    if r["method"] == "zo-np" and (jac <= 0 or queries != (q + 1) * iters + jac):
        print("zo-np queries != (Q+1) iterations + Jacobian", r); ok = False
    # no further iteration fits: budget - queries < cost of one more iteration
    if budget - queries >= (q + 1) + (jac if r["method"] == "zo-np" else 0):
        print("stopped early", r); ok = False
for m in ("zo-i", "zo-co", "zo-np"):
    rs = [r for r in rows if r["method"] == m]
    first = sum(float(r["train_loss_first"]) for r in rs) / len(rs)
    last = sum(float(r["train_loss_last"]) for r in rs) / len(rs)
    if not last < first:
        print(m, "training loss did not decrease", first, last); ok = False
sys.exit(0 if ok else 1)
PYEOF
  grep -qE '^\| zo-i \| .* \| [0-9.e-]+ \|' "$d/summary.md" || fail "$d: no p-value row for zo-i"
  grep -qE '^\| zo-co \| .* \| [0-9.e-]+ \|' "$d/summary.md" || fail "$d: no p-value row for zo-co"
}

cat > "$T/eq.ini" <<'INI'
[data]
task = equalization-isi
n_train = 1000
n_test = 500
batch = 32
[model]
kind = mzi-equalizer
score_scale = 10
[zo]
Q = 10
t_ud = 20
lr = 0.01
[train]
budget = 1
eval_every = 10
INI
"$PY" "$ROOT/experiments/compare" "$T/eq.ini" --seeds 2 --budget 2500 --jobs 2 \
  --zoptic "$B/zoptic" --out "$T/eq" --no-plot >"$T/eq.log" 2>&1 \
  || fail "compare on the equalizer failed: $(tail -n 5 "$T/eq.log")"
check_out "$T/eq" 2500 10

cat > "$T/copy.ini" <<'INI'
[data]
task = copying
copy_delay = 3
n_train = 300
n_test = 100
batch = 16
[model]
kind = mzi-rnn
[zo]
Q = 10
t_ud = 20
lr = 0.01
[train]
budget = 1
eval_every = 10
INI
"$PY" "$ROOT/experiments/compare" "$T/copy.ini" --seeds 2 --budget 1500 --jobs 2 \
  --zoptic "$B/zoptic" --out "$T/copy" --no-plot >"$T/copy.log" 2>&1 \
  || fail "compare on the copying RNN failed: $(tail -n 5 "$T/copy.log")"
check_out "$T/copy" 1500 10

# parallel runs get one model thread each
grep -qx "threads = 1" "$T/eq/zo-np-s1/config.ini" \
  || fail "a --jobs 2 run did not get train.threads = 1"

# pick_lr.py: each method's best mean validation metric (lower SER wins,
# ties to the smaller lr), as --method-set arguments
mkdir -p "$T/grid"
cat > "$T/grid/runs.csv" <<'CSV'
method,seed,ser,test_loss
zo-i@lr0.01,1,0.30,0
zo-i@lr0.01,2,0.20,0
zo-i@lr0.02,1,0.26,0
zo-i@lr0.02,2,0.26,0
zo-np@lr0.01,1,0.40,0
zo-np@lr0.02,1,0.40,0
zo-co,1,0.10,0
cmaes@sigma0.03,1,0.31,0
cmaes@sigma0.1,1,0.25,0
CSV
got=$("$PY" "$ROOT/experiments/pick_lr.py" "$T/grid" 2>/dev/null)
[ "$got" = "--method-set cmaes:zo.cmaes_sigma=0.1 --method-set zo-i:zo.lr=0.01 --method-set zo-np:zo.lr=0.01" ] \
  || fail "pick_lr.py printed '$got'"

# rerunning reuses the finished runs and reproduces the table
"$PY" "$ROOT/experiments/compare" "$T/eq.ini" --seeds 2 --budget 2500 --jobs 2 \
  --zoptic "$B/zoptic" --out "$T/eq" --no-plot >"$T/eq2.log" 2>&1 || fail "rerun failed"
diff <(grep '^| zo' "$T/eq.log") <(grep '^| zo' "$T/eq2.log") >/dev/null \
  || fail "rerun changed the table"

# CMA-ES: a generation of lambda candidate queries is one logged iteration;
# the accounting accepts lambda x generations and nothing else
"$PY" "$ROOT/experiments/compare" "$T/eq.ini" --methods cmaes --seeds 1 --budget 400 \
  --set zo.cmaes_lambda=8 --zoptic "$B/zoptic" --out "$T/cma" --no-plot >"$T/cma.log" 2>&1 \
  || fail "compare with cmaes failed: $(tail -n 5 "$T/cma.log")"
"$PY" - "$T/cma/runs.csv" <<'PYEOF' || fail "cmaes accounting: $(cat "$T/cma/runs.csv")"
import csv, sys
r = list(csv.DictReader(open(sys.argv[1])))[0]
q, it = int(r["queries"]), int(r["iterations"])
sys.exit(0 if r["query_check"] == "ok" and q == 8 * it and 400 - q < 8 else 1)
PYEOF

[ "$fails" -eq 0 ] || { echo "$fails failure(s)" >&2; exit 1; }
echo "compare_test: ok"
