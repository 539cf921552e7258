#!/usr/bin/env bash
# experiments/r3_t6.py on made-up run directories (no training, no data):
# the T6 table's means, standard deviations, min..max and median peak RSS
# against numbers computed here independently (awk), a run short of its
# budget not counted, a resumed run's peak RSS the largest of its segments,
# the finals file round trip (--update-finals, then the same table without
# the run directories; a run directory takes precedence), and the Fisher
# storage against a hand computation for N_max = 431 and 8.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3
T="$(mktemp -d "${TMPDIR:-/tmp}/zoptic-r3t6-XXXXXX")"
trap 'rm -rf "$T"' EXIT
fails=0
fail() { echo "FAIL: $*" >&2; fails=$((fails + 1)); }

# run N SEED QUERIES ACC RSS_KB...: a run directory with a log.csv ending at
# QUERIES and one /usr/bin/time -v record per RSS_KB (a resumed run: several)
run() {
  local d="$T/out/r3-test-t6-s$2/zo-np@n$1-s$2" n=$1 s=$2 q=$3 acc=$4 r
  shift 4
  mkdir -p "$d"
  printf 'iteration,queries,test_metric\n500,12500,0.5\n%d,%s,%s\n' $((q / 25)) "$q" "$acc" >"$d/log.csv"
  for r in "$@"; do
    printf 'segment: binary=x\n\tCommand being timed: "zoptic train"\n\tMaximum resident set size (kbytes): %s\n\tExit status: 0\n' "$r" >>"$d/time.txt"
  done
  : "$n $s"
}
B=1260000
# N_max = 8: accuracies 0.73 0.80 0.71 0.74 0.72 (neither extreme first or last),
# RSS 300000..330000 and 900000 kB; seed 203 resumed (segments 320000, then
# 100000: the largest counts, not the last)
run 8 201 $B 0.73 300000
run 8 202 $((B - 3)) 0.80 310000
run 8 203 $((B - 20)) 0.71 320000 100000
run 8 204 $B 0.74 330000
run 8 205 $B 0.72 900000
# N_max = 64: seed 205 stopped 1,000 queries short: not counted; seed 204
# was resumed after a process killed with its time process (two segments,
# one record)
for s in 201 202 203 204; do run 64 $s $B "0.8$((s - 200))" 400000; done
echo "segment: binary=x" >>"$T/out/r3-test-t6-s204/zo-np@n64-s204/time.txt"
run 64 205 $((B - 1000)) 0.99 400000
# N_max = 431: one seed, no time.txt
mkdir -p "$T/out/r3-test-t6-s201/zo-np@n431-s201"
printf 'iteration,queries,test_metric\n49834,%d,0.8388\n' $((B - 7)) >"$T/out/r3-test-t6-s201/zo-np@n431-s201/log.csv"

out=$("$PY" "$ROOT/experiments/r3_t6.py" --out "$T/out" --finals "$T/finals.csv" --update-finals)
row() { grep "^| $1 |" <<<"$(sed -n '/^| N_max |/,/^$/p' <<<"$out")"; }
cell() { row "$1" | awk -F' [|] ' -v k="$2" '{ print $k }'; }

# independent numbers: mean, sample sd, median of the RSS (MB)
exp_mean=$(awk 'BEGIN { printf "%.4f", (0.73 + 0.80 + 0.71 + 0.74 + 0.72) / 5 }')
exp_sd=$(awk 'BEGIN { s = 0; split("0.73 0.80 0.71 0.74 0.72", v, " "); m = 0;
  for (i = 1; i <= 5; i++) m += v[i] / 5; for (i = 1; i <= 5; i++) s += (v[i] - m) ^ 2;
  printf "%.4f", sqrt(s / 4) }')
[ "$(cell 8 4)" = "$exp_mean ± $exp_sd" ] || fail "N_max 8 mean ± sd: '$(cell 8 4)', expected $exp_mean ± $exp_sd"
[ "$(cell 8 5)" = "0.7100..0.8000" ] || fail "N_max 8 min..max: '$(cell 8 5)'"
exp_med=$(awk 'BEGIN { printf "%.1f", 320000 / 1024 }')
[ "$(cell 8 6)" = "$exp_med" ] || fail "N_max 8 median peak RSS: '$(cell 8 6)', expected $exp_med"
[ "$(cell 8 7)" = "$(awk 'BEGIN { printf "%.1f..%.1f", 300000 / 1024, 900000 / 1024 }')" ] ||
  fail "N_max 8 RSS min..max: '$(cell 8 7)'"
[ "$(cell 8 3)" = "5 of 5" ] || fail "N_max 8 seeds: '$(cell 8 3)'"
# the short run is not counted: 4 seeds, mean of 0.81..0.84
[ "$(cell 64 3)" = "4 of 5" ] || fail "a run short of its budget must not count: $(row 64)"
[ "$(cell 64 4)" = "$(awk 'BEGIN { m = (0.81 + 0.82 + 0.83 + 0.84) / 4;
  s = (0.81 - m) ^ 2 + (0.82 - m) ^ 2 + (0.83 - m) ^ 2 + (0.84 - m) ^ 2; printf "%.4f ± %.4f", m, sqrt(s / 3) }')" ] ||
  fail "N_max 64 mean ± sd: '$(cell 64 4)'"
[ "$(cell 431 6)" = "n/a" ] || fail "a run without time.txt has no RSS: $(row 431)"
grep -q "recorded segment): 2; runs with a process that left no RSS record (killed with its time process): 1; runs without any RSS record: 1\." <<<"$out" ||
  fail "resumed / no-RSS counts: $(grep 'Runs resumed' <<<"$out")"
row 256 | grep -q "| 0 of 5 | pending |" || fail "N_max 256 must be pending: $(row 256)"

# Fisher storage by hand: 6,854 parameters; N_max 431 -> 16 blocks, 6 of 429
# and 10 of 428; N_max 8 -> 857 blocks, 855 of 8 and 2 of 7; packed lower
# triangles n (n + 1) / 2 of 8-byte doubles; scratch: one packed block of the largest
f431=$(((6 * 429 * 430 / 2 + 10 * 428 * 429 / 2) * 8))
f8=$(((855 * 8 * 9 / 2 + 2 * 7 * 8 / 2) * 8))
[ "$(cell 431 8)" = "$f431" ] || fail "Fisher bytes at N_max 431: '$(cell 431 8)', by hand $f431"
[ "$(cell 431 9)" = "$((429 * 430 * 8 / 2))" ] || fail "scratch at N_max 431: '$(cell 431 9)'"
[ "$(cell 8 8)" = "$f8" ] || fail "Fisher bytes at N_max 8: '$(cell 8 8)', by hand $f8"
{ [ "$(cell 431 2)" = 16 ] && [ "$(cell 8 2)" = 857 ]; } || fail "block counts: $(cell 431 2), $(cell 8 2)"
# the rebuttal's memory row: exact at 8, the nearest (32) at 28
[ "$(cell 8 12 | tr -d ' |')" = "1.11" ] || fail "rebuttal at N_max 8: '$(cell 8 12)'"
row 28 | grep -q "1.15 (at N_max 32)" || fail "rebuttal at N_max 28: $(row 28)"

# finals file: 5 + 4 + 1 rows, the short run left out, the resumed run's RSS the largest
[ "$(tail -n +2 "$T/finals.csv" | wc -l)" = 10 ] || fail "finals.csv: expected 10 rows: $(cat "$T/finals.csv")"
grep -q '^8,203,0.7100,1259980,50399,320000,2,2$' "$T/finals.csv" || fail "finals.csv: N_max 8 seed 203 row"
grep -q '^64,205,' "$T/finals.csv" && fail "finals.csv holds the short run"
# without the run directories, the same table from the finals file
again=$("$PY" "$ROOT/experiments/r3_t6.py" --out "$T/none" --finals "$T/finals.csv")
[ "$again" = "$out" ] || fail "the table from the finals file differs from the run directories'"
# a short row in the finals file is not counted either
echo "64,205,0.9900,1259000,50360,400000,1,1" >>"$T/finals.csv"
[ "$("$PY" "$ROOT/experiments/r3_t6.py" --out "$T/none" --finals "$T/finals.csv")" = "$out" ] ||
  fail "a short run in the finals file must not count"
# a run directory takes precedence over the finals file
sed -i 's/^8,201,0.7300,/8,201,0.9100,/' "$T/finals.csv"
"$PY" "$ROOT/experiments/r3_t6.py" --out "$T/none" --finals "$T/finals.csv" | grep "^| 201 |" |
  grep -q "0.9100" || fail "the edited finals file was not read"
[ "$("$PY" "$ROOT/experiments/r3_t6.py" --out "$T/out" --finals "$T/finals.csv")" = "$out" ] ||
  fail "a run directory must take precedence over the finals file"

# the plot's data: RSS above the smallest N_max's (8: 320000 kB), the Fisher store in MiB
# (N_max 64: 108 blocks, 50 of 64 and 58 of 63, and the scratch of one of 64)
if command -v gnuplot >/dev/null; then
  "$PY" "$ROOT/experiments/r3_t6.py" --out "$T/out" --finals "$T/finals.csv" --png "$T/t6.png" >/dev/null
  [ -s "$T/t6.png" ] || fail "no PNG"
  exp=$(awk 'BEGIN { printf "64 0.8250 0.8100 0.8400 %.2f %.2f %.4f", 400000 / 1024, (400000 - 320000) / 1024,
    ((50 * 64 * 65 / 2 + 58 * 63 * 64 / 2) * 8 + 64 * 65 / 2 * 8) / 1048576 }')
  grep -q "^$exp$" "$T/t6.dat" || fail "t6.dat: expected '$exp': $(cat "$T/t6.dat")"
fi

# experiments/zoptic-time around a stand-in binary: stdout and the exit status
# pass through, one time -v record per process in RUN_DIR/time.txt (appended
# on --resume), nothing written without a run directory
cat >"$T/fake" <<'EOF'
#!/bin/sh
echo "final: test_metric=0.5"
exit "${FAKE_RC:-0}"
EOF
chmod +x "$T/fake"
mkdir -p "$T/wrun"
got=$(ZOPTIC_REAL="$T/fake" "$ROOT/experiments/zoptic-time" train x.ini --out "$T/wrun" --set a=b)
[ "$got" = "final: test_metric=0.5" ] || fail "zoptic-time: stdout '$got'"
ZOPTIC_REAL="$T/fake" "$ROOT/experiments/zoptic-time" train --resume "$T/wrun" >/dev/null
[ "$(grep -c 'Maximum resident set size (kbytes): [0-9]' "$T/wrun/time.txt")" = 2 ] ||
  fail "zoptic-time: expected 2 records: $(cat "$T/wrun/time.txt")"
grep -q "^segment: .* binary=$T/fake sha256=[0-9a-f]\{64\}$" "$T/wrun/time.txt" || fail "zoptic-time: no binary line"
rc=0; FAKE_RC=3 ZOPTIC_REAL="$T/fake" "$ROOT/experiments/zoptic-time" train --resume "$T/wrun" >/dev/null || rc=$?
[ "$rc" = 3 ] || fail "zoptic-time: exit status $rc, expected 3"
before=$(wc -l <"$T/wrun/time.txt")
(cd "$T" && ZOPTIC_REAL="$T/fake" "$ROOT/experiments/zoptic-time" --version >/dev/null)
{ [ "$(wc -l <"$T/wrun/time.txt")" = "$before" ] && [ ! -e "$T/time.txt" ]; } ||
  fail "zoptic-time without a run directory wrote a record"

[ "$fails" -eq 0 ] || { echo "r3_t6_test: $fails failure(s)"; exit 1; }
echo "r3_t6_test: ok"
