#!/usr/bin/env bash
# experiments/run-round3.sh's validation archive (no training, no data):
# a grid stage keeps its runs.csv as experiments/r3-val/NAME-runs.csv; on a
# machine without experiments/out the test stage takes its picks from there,
# and the edge rule adds only the extension labels the grid has not run
# (once).  compare is replaced by `echo` after the script is sourced.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
T="$(mktemp -d "${TMPDIR:-/tmp}/zoptic-valarch-XXXXXX")"
trap 'rm -rf "$T"' EXIT
fails=0
fail() { echo "FAIL: $*" >&2; fails=$((fails + 1)); }
mkdir -p "$T/experiments"
cp "$ROOT"/experiments/{run-round3.sh,tuned-lib.sh,pick_lr.py} "$T/experiments/"
: >"$T/experiments/r3-finals.csv"
# sourced with $0 = experiments/x so that the script's cd lands in $T
rr() { (cd "$T" && bash -c '. experiments/run-round3.sh; C="echo COMPARE"; need_mnist() { :; }; '"$1" experiments/x); }

# T3 (lower SER is better): lr grid 0.002..0.02; zo-i best at 0.02 (edge),
# zo-np best at 0.005, cmaes sigma 0.1 (edge); the other methods at 0.01
grid="method,seed,ser,test_loss"
for m in zo-i zo-co zo-np zo-sparse zo-guided zo-adapt; do
  for x in 0.002 0.005 0.01 0.02; do
    v=0.30
    case "$m@$x" in zo-i@0.02) v=0.10 ;; zo-np@0.005) v=0.12 ;; zo-co@0.01|zo-sparse@0.01|zo-guided@0.01|zo-adapt@0.01) v=0.2 ;; esac
    grid="$grid
$m@lr$x,1001,$v,0
$m@lr$x,1002,$v,0"
  done
done
for x in 0.01 0.03 0.1; do v=0.3; [ $x = 0.1 ] && v=0.25; grid="$grid
cmaes@sigma$x,1001,$v,0"; done
mkdir -p "$T/experiments/out/r3-val-t3"
echo "$grid" >"$T/experiments/out/r3-val-t3/runs.csv"

# the grid stage archives its runs.csv
rr 'task_grid t3' >/dev/null
cmp -s "$T/experiments/out/r3-val-t3/runs.csv" "$T/experiments/r3-val/r3-val-t3-runs.csv" ||
  fail "task_grid did not archive runs.csv as experiments/r3-val/r3-val-t3-runs.csv"

# a new machine: no experiments/out
rm -rf "$T/experiments/out"
out=$(FIRST=201 LAST=201 rr 'task_test t3' 2>"$T/err") || fail "task_test without experiments/out failed: $(cat "$T/err")"
grep -q "the picks come from experiments/r3-val/r3-val-t3-runs.csv" "$T/err" || fail "no word of the archive"
for want in zo-i:zo.lr=0.02 zo-np:zo.lr=0.005 zo-co:zo.lr=0.01 cmaes:zo.cmaes_sigma=0.1; do
  grep -q -- "--method-set $want " <<<"$out " || fail "task_test's picks lack $want: $out"
done
grep -q -- "--name r3-test-t3-s201" <<<"$out" || fail "task_test ran no seed 201: $out"

# the edge rule: zo-i (0.02) -> 0.04, cmaes (0.1) -> 0.2, nothing else
out=$(rr 'task_edge t3' 2>/dev/null)
grep -q "zo-i@lr0.04" <<<"$out" && grep -q "cmaes@sigma0.2" <<<"$out" ||
  fail "task_edge did not extend zo-i and cmaes: $out"
grep -q "zo-np@lr0.0025\|zo-co@lr0.04" <<<"$out" && fail "task_edge extended a method picked inside its grid"
# from the archive, only the extension labels run (not the whole grid again)
grep -q "zo-co@lr0.002" <<<"$out" && fail "task_edge from the archive reran the grid: $out"
# ... and their rows join the archived grid: a stand-in compare writes runs.csv
fake='fake() { local n="" m="" p=""; for a in "$@"; do case "$p" in --name) n=$a ;; --methods) m=$a ;; esac; p=$a; done
  mkdir -p "experiments/out/$n"; { echo "method,seed,ser,test_loss"
  for l in ${m//,/ }; do echo "$l,1001,0.5,0"; echo "$l,1002,0.5,0"; done; } >"experiments/out/$n/runs.csv"; }; C=fake; '
rr "$fake"'task_edge t3' >/dev/null 2>&1
a="$T/experiments/r3-val/r3-val-t3-runs.csv"
[ "$(grep -c . "$a")" = 56 ] && grep -q "^zo-i@lr0.04,1002,0.5" "$a" && grep -q "^zo-co@lr0.002,1001,0.30" "$a" ||
  fail "the archive after the edge stage: $(wc -l <"$a") lines: $(tail -n 3 "$a")"
rm -rf "$T/experiments/out"
# once: with the extensions run (worse), the picks stay at the edge and no more labels come
out=$(rr 'task_edge t3' 2>&1)
grep -q "no t3 pick at a grid edge" <<<"$out" || fail "the edge rule ran twice: $out"

# no grid and no archive: a clear refusal
rm -f "$T/experiments/r3-val/r3-val-t3-runs.csv"
if out=$(rr 'task_test t3' 2>&1); then fail "task_test ran without a grid"; fi
grep -q "no validation grid" <<<"$out" || fail "task_test's refusal says: $out"

[ $fails -eq 0 ] && echo "r3_valarchive_test: ok" || { echo "r3_valarchive_test: $fails failed"; exit 1; }
