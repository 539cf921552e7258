#!/usr/bin/env bash
# experiments/r3_t1.py on made-up run directories (no training, no data):
# the pre-registered statistics (exact two-sided Mann-Whitney of ZO-NP
# against each method, Holm over m = 42 with the pending ranked last),
# "pending" before a method's 10 seeds, a run short of its budget not
# counted, finals read back from the finals file when the run directories
# are gone (--finals, --update-finals), and T1q's budget of 60,000 (Q + 1).
# T2-T5's finals file is an empty one here (--tasks-finals), so the family
# holds T1's comparisons only; tests/r3_tasks_test.sh checks the family with
# T2-T5's p-values in it.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3
T="$(mktemp -d "${TMPDIR:-/tmp}/zoptic-r3-XXXXXX")"
trap 'rm -rf "$T"' EXIT
fails=0
fail() { echo "FAIL: $*" >&2; fails=$((fails + 1)); }

# run DIR QUERIES METRIC: a log.csv with two evaluations, the last at QUERIES
run() {
  mkdir -p "$1"
  printf 'iteration,queries,test_metric\n1,21000,0.5\n2,%s,%s\n' "$2" "$3" >"$1/log.csv"
}
for s in $(seq 201 210); do
  i=$((s - 200))
  # Q = 5 (budget 360,000): ZO-NP above ZO-I on every seed; ZO-co above ZO-NP
  run "$T/out/r3-test-t1q-q5-s$s/zo-np-s$s" 359990 "0.8$i"
  run "$T/out/r3-test-t1q-q5-s$s/zo-i-s$s" 360000 "0.7$i"
  run "$T/out/r3-test-t1q-q5-s$s/zo-co-s$s" 360000 "0.9$i"
  # Q = 1 (budget 120,000): ZO-I has 9 seeds (pending); ZO-co's seed 210 stopped short
  [ "$s" = 210 ] || run "$T/out/r3-test-t1q-q1-s$s/zo-i-s$s" 120000 "0.6$i"
  run "$T/out/r3-test-t1q-q1-s$s/zo-np-s$s" 120000 "0.6$i"
  run "$T/out/r3-test-t1q-q1-s$s/zo-co-s$s" "$([ "$s" = 210 ] && echo 100000 || echo 120000)" "0.5$i"
done
out=$("$PY" "$ROOT/experiments/r3_t1.py" --tasks-finals "$T/none.csv" --out "$T/out" --finals "$T/finals.csv" --update-finals)
row() { grep "^| $1 |" <<<"$(sed -n "/Q = $2 (budget/,/^Per seed/p" <<<"$out")"; }
grep -q "2 of the 42 planned comparisons available" <<<"$out" || fail "expected 2 comparisons: $out"
grep -q "T1 at Q = 5 (budget 360000 queries)" <<<"$out" || fail "Q = 5 budget line"
# exact two-sided MW of 10 vs 10 fully separated: 2/C(20,10) = 1.08e-5; Holm: 42x, 41x
row zo-i 5 | grep -q "10 / 10 seeds | 1.08e-05 | 0.000455 | ZO-NP wins" || fail "zo-i at Q = 5: $(row zo-i 5)"
row zo-co 5 | grep -q "0 / 10 seeds | 1.08e-05 | 0.000455 | ZO-NP loses" || fail "zo-co at Q = 5: $(row zo-co 5)"
row zo-i 1 | grep -q "9 of 10 .*pending" || fail "zo-i at Q = 1 must be pending: $(row zo-i 1)"
row zo-co 1 | grep -q "9 of 10 .*pending" || fail "a run short of its budget must not count: $(row zo-co 1)"
[ "$(grep -c '^5,' "$T/finals.csv")" = 30 ] || fail "finals.csv: expected 30 rows at Q = 5"
grep -q '^5,zo-np,201,0.8100,359990$' "$T/finals.csv" || fail "finals.csv: ZO-NP seed 201 row"
# without the run directories, the same tables come from the finals file
again=$("$PY" "$ROOT/experiments/r3_t1.py" --tasks-finals "$T/none.csv" --out "$T/none" --finals "$T/finals.csv")
[ "$again" = "$out" ] || fail "tables from the finals file differ from the run directories'"
# a final in the finals file is overridden by a run directory
sed -i 's/^5,zo-i,201,0.7100,/5,zo-i,201,0.9900,/' "$T/finals.csv"
"$PY" "$ROOT/experiments/r3_t1.py" --tasks-finals "$T/none.csv" --out "$T/none" --finals "$T/finals.csv" | grep "^| 201 |" \
  | grep -q "0.9900" || fail "the edited finals file was not read"
[ "$("$PY" "$ROOT/experiments/r3_t1.py" --tasks-finals "$T/none.csv" --out "$T/out" --finals "$T/finals.csv")" = "$out" ] \
  || fail "a run directory must take precedence over the finals file"

[ "$fails" -eq 0 ] || { echo "r3_tables_test: $fails failure(s)"; exit 1; }
echo "r3_tables_test: ok"
