#!/usr/bin/env bash
# A run works from anywhere (#14 item 6):
# - data paths written in a config file are relative to the FILE's folder,
#   --set paths to the working directory, and the run records them absolute,
#   so eval and --resume of the run work from any directory;
# - `train --out DIR` records output.dir = DIR (absolute) in the run's
#   config.ini, so `zoptic train DIR/config.ini` names that run;
# - the progress line shows the percentage of the budget and an ETA.
set -u
Z="$(cd "$(dirname "${BUILD:-build}/zoptic")" && pwd)/zoptic"
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
T="$(mktemp -d "${TMPDIR:-/tmp}/zoptic-paths-XXXXXX")"
trap 'rm -rf "$T"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
mkdir -p "$T/proj/data" "$T/work" "$T/elsewhere"
T=$(cd "$T" && pwd -P)
# the toy task on a CSV file: 16 inputs, 4 targets
awk 'BEGIN { srand(7); for (r = 0; r < 200; r++) { s = ""; for (j = 0; j < 16; j++) { x[j] = 2 * rand() - 1; s = s x[j] "," }
  print s (x[0] + x[1]) "," (x[2] - x[3]) "," (0.5 * x[4]) "," (x[5] + x[6] + x[7]) } }' > "$T/proj/data/set.csv"
# toy.ini with data.path = data/set.csv (relative to proj/) in its [data] section
awk '/^\[data\]$/ && !done { print; print "path = data/set.csv"; done = 1; next } { print }' \
    "$ROOT/experiments/toy.ini" | sed -e 's/^n_train = .*/n_train = 0/' -e 's/^n_test = .*/n_test = 0/' \
    -e 's/^budget = .*/budget = 2000/' > "$T/proj/toy.ini"

# 1. trained from another directory: data/set.csv is found next to the config
cd "$T/work"
out=$("$Z" train ../proj/toy.ini --out run1 --set output.progress=off 2>&1) ||
  fail "train ../proj/toy.ini from another folder: $out"
grep -qx "path = $T/proj/data/set.csv" run1/config.ini ||
  fail "run1/config.ini does not record the absolute data path: $(grep '^path' run1/config.ini)"
grep -qx "dir = $T/work/run1" run1/config.ini ||
  fail "run1/config.ini: output.dir does not name the run: $(grep '^dir' run1/config.ini)"

# 2. eval and resume from a third directory
cd "$T/elsewhere"
out=$("$Z" eval "$T/work/run1/ckpt.h5" 2>&1) || fail "eval from elsewhere: $out"
grep -q "samples=50" <<<"$out" || fail "eval from elsewhere: expected 50 test samples: $out"
out=$("$Z" train --resume "$T/work/run1" 2>&1) || fail "resume from elsewhere: $out"
grep -q '^final: ' <<<"$out" || fail "resume of a finished run did not print its final line: $out"

# 3. the run's own config.ini names the run: training it again is refused as
#    "already holds a run" for THAT directory (not a new run elsewhere)
rc=0; out=$("$Z" train "$T/work/run1/config.ini" 2>&1) || rc=$?
[ $rc -eq 2 ] && grep -q "$T/work/run1: run directory already holds a run" <<<"$out" ||
  fail "train RUN/config.ini did not target RUN (exit $rc): $out"
[ ! -e "$T/elsewhere/run1" ] || fail "train RUN/config.ini created a run in the working directory"

# 4. --set paths are relative to the working directory
cd "$T/proj"
out=$("$Z" train toy.ini --out "$T/work/run2" --set data.path=data/set.csv --set train.budget=200 \
      --set output.progress=off 2>&1) || fail "--set data.path relative to the working directory: $out"
grep -qx "path = $T/proj/data/set.csv" "$T/work/run2/config.ini" || fail "--set path not recorded absolute"
cd "$T/work"
rc=0; out=$("$Z" train ../proj/toy.ini --out run3 --set data.path=data/set.csv 2>&1) || rc=$?
[ $rc -eq 3 ] && grep -q "$T/work/data/set.csv" <<<"$out" ||
  fail "--set data.path=data/set.csv from $T/work should name $T/work/data/set.csv (exit $rc): $out"

# 5. the progress line: percentage and ETA (output.progress = on forces it)
out=$("$Z" train ../proj/toy.ini --out run4 --set output.progress=on 2>&1 >/dev/null) ||
  fail "progress run failed: $out"
grep -qE '[0-9]+%  iter [0-9]+  queries' <<<"$out" && grep -q 'eta ' <<<"$out" || fail "no percentage/ETA progress line: $out"
echo "run_paths_test: ok"
