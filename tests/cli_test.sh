#!/usr/bin/env bash
# Script tests of the zoptic program: train the toy task to completion,
# kill -9 runs in the middle of checkpoint writes and resume them (identical
# theta, state and log.csv to an uninterrupted run), errors and exit codes
# of bad configs and bad checkpoints, info, eval, plot, docs in sync.
set -euo pipefail
. "$(cd "$(dirname "$0")" && pwd)/common/script.sh"  # fail, expect
Z="$(cd "$(dirname "${BUILD:-build}/zoptic")" && pwd)/zoptic"
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
CFG="$ROOT/experiments/toy.ini"
T="$(mktemp -d "${TMPDIR:-/tmp}/zoptic-cli-XXXXXX")"
trap 'rm -rf "$T"' EXIT
cd "$T"

# ---- help, usage, docs ----
expect 0 "usage: zoptic COMMAND" "$Z" help
for c in train eval info plot config config-doc; do expect 0 "usage: zoptic $c" "$Z" $c --help; done
expect 2 "unknown command 'frobnicate'" "$Z" frobnicate
expect 2 "" "$Z"
expect 2 "unknown option '--bogus'" "$Z" train --bogus
expect 2 "give either CONFIG" "$Z" train
expect 2 "give either CONFIG" "$Z" train "$CFG" --resume x
"$Z" config-doc | cmp -s - "$ROOT/docs/config.md" || fail "docs/config.md is out of date (run: zoptic config-doc > docs/config.md)"

# ---- configuration errors: exit 2, FILE:LINE and the key ----
printf '[data]\ntask = toy\n[model]\nkind = toy-linear\n[zo]\nQ = 0\n[train]\nbudget = 10\n' > bad1.ini
expect 2 "bad1.ini:6: [zo] Q = '0': expected an integer in [1, 100000]" "$Z" train bad1.ini --out r_bad
[ ! -e r_bad ] || fail "a bad config created a run directory"
printf '[data]\ntask = toy\n[model]\nkind = toy-linear\nwidht = 3\n[train]\nbudget = 10\n' > bad2.ini
expect 2 "bad2.ini:5: unknown key 'widht' in section [model]" "$Z" train bad2.ini
printf '[data]\ntask = toy\n[model]\nkind = toy-linear\n' > bad3.ini
expect 2 "bad3.ini: missing required key [train] budget" "$Z" train bad3.ini
expect 2 "--set zo.lr=fast: [zo] lr = 'fast': expected a finite number > 0" "$Z" train "$CFG" --set zo.lr=fast
expect 2 "--set zo.nope=1: unknown key 'nope'" "$Z" train "$CFG" --set zo.nope=1
expect 2 "nothere.ini: cannot open configuration" "$Z" train nothere.ini
expect 2 "model.kind = cnn needs image inputs" "$Z" train "$CFG" --set model.kind=cnn --out r_cnn
expect 2 "model.kind = toy-linear is a linear regression; copying-T100/train is not a regression set" \
  "$Z" train "$CFG" --set data.task=copying --out r_copy
expect 2 "train.metric = accuracy counts class decisions; toy is a regression set" \
  "$Z" train "$CFG" --set train.metric=accuracy --out r_acc
# the toy runs on the zo trainer: every method works (N = 68 < n_max: one block)
for meth in zo-co zo-np; do
  out=$("$Z" train "$CFG" --out "r_$meth" --set zo.method=$meth --set zo.mode=block --set zo.t_ud=20 2>&1) \
    || fail "toy with $meth failed: $out"
  awk -F, 'END { exit !($7 < 0.01) }' "r_$meth/log.csv" || fail "toy with $meth did not learn: $(tail -n 1 "r_$meth/log.csv")"
done
# an ordinary task: behind the reference chip driver it trains to the same bits
inproc=$("$Z" train "$CFG" --out r_inproc --set train.budget=2200 --set output.progress=off 2>&1 | tail -n 1)
driven=$("$Z" train "$CFG" --out r_driver --set train.budget=2200 --set output.progress=off \
         --set chip.driver="$(dirname "$Z")/zoptic-chipd --config $CFG" 2>&1 | tail -n 1)
[[ "$inproc" =~ ^final: ]] && [ "${inproc% seconds=*}" = "${driven% seconds=*}" ] ||
  fail "toy behind zoptic-chipd differs from in-process: '$driven' vs '$inproc'"
"$Z" info --values --no-config r_inproc/ckpt.h5 | grep '^theta =' > th1 || true
"$Z" info --values --no-config r_driver/ckpt.h5 | grep '^theta =' > th2 || true
[ -s th1 ] && cmp -s th1 th2 || fail "toy behind zoptic-chipd: theta differs from in-process"
out=$("$Z" info "r_zo-np/ckpt.h5")
grep -q 'zo/fisher/block_0/chol' <<<"$out" || fail "toy zo-np: no Fisher block saved"
expect 0 "Q = 7" "$Z" config "$CFG" --set zo.Q=7
expect 0 "metric = auto" "$Z" config "$CFG"

# ---- a complete run ----
out=$("$Z" train "$CFG" --out ref 2>&1) || fail "toy training failed: $out"
last=$(tail -n 1 <<<"$out")
[[ "$last" =~ ^final:\ test_metric=[0-9.e+-]+\ queries=22000\ seconds=[0-9.]+$ ]] || fail "bad final line: $last"
for f in config.ini log.csv ckpt.h5; do [ -f "ref/$f" ] || fail "ref/$f missing"; done
[ ! -e ref/ckpt.h5.tmp ] || fail "temporary checkpoint left behind"
[ "$(head -n 1 ref/log.csv)" = "iteration,queries,sample_forwards,seconds,train_loss,test_loss,test_metric" ] || fail "log header"
[ "$(wc -l < ref/log.csv)" -eq 21 ] || fail "log.csv should have 20 rows: $(wc -l < ref/log.csv)"
grep -q '^metric = relative_loss$' ref/config.ini || fail "config.ini lacks metric = relative_loss"
# the run learned: final relative loss far below 1 (the zero predictor)
awk -F, 'END { exit !($7 < 0.01) }' ref/log.csv || fail "toy run did not learn: $(tail -n 1 ref/log.csv)"
metric=$(sed -E 's/^final: test_metric=([^ ]+) .*/\1/' <<<"$last")
expect 2 "already holds a run" "$Z" train "$CFG" --out ref
# off a terminal: a plain line per evaluation, no progress line
[ "$(grep -c '^iteration ' <<<"$out")" -eq 20 ] || fail "expected 20 plain progress lines"
! grep -q $'\r' <<<"$out" || fail "carriage returns off a terminal"
out=$("$Z" train "$CFG" --out prog --set output.progress=on --set train.budget=1100 2>&1 >/dev/null)
grep -q $'\r' <<<"$out" && grep -q 'eta' <<<"$out" || fail "progress=on draws no progress line: $out"
# resuming a finished run does nothing more and prints the same final line
out=$("$Z" train --resume ref 2>/dev/null) || fail "resume of a finished run failed"
[ "$(tail -n 1 <<<"$out" | cut -d' ' -f1-3)" = "$(cut -d' ' -f1-3 <<<"$last")" ] || fail "resume of finished run: $out"
[ "$(wc -l < ref/log.csv)" -eq 21 ] || fail "resume of a finished run changed log.csv"

# ---- info ----
expect 0 "parameters: 68 in 2 views" "$Z" info ref/ckpt.h5
out=$("$Z" info ref/ckpt.h5)
for pat in "linear.weight" "4x16" "run/iteration                    uint64[1] = 2000" \
           "run/queries                      uint64[1] = 22000" "zo/optimizer/m                   float32[68]" "config:" "kind = toy-linear"; do
  grep -qF -- "$pat" <<<"$out" || fail "info lacks '$pat'"
done

# ---- eval ----
out=$("$Z" eval ref/ckpt.h5 --outputs outs.csv) || fail "eval failed: $out"
[ "$out" = "test_loss=$(tail -n 1 ref/log.csv | cut -d, -f6) test_metric=$metric metric=relative_loss samples=256" ] \
  || fail "eval disagrees with the run: $out"
[ "$(wc -l < outs.csv)" -eq 257 ] && [ "$(head -n 1 outs.csv)" = "sample,output_0,output_1,output_2,output_3,target_0,target_1,target_2,target_3" ] \
  || fail "eval --outputs: $(head -n 2 outs.csv)"
expect 2 "--set zo.Q=x" "$Z" eval ref/ckpt.h5 --set zo.Q=x

# ---- learning-rate schedule keys ----
expect 2 "lr_final must be in [0, lr" "$Z" train "$CFG" --out lrbad \
  --set zo.lr_schedule=cosine --set zo.lr_final=1
expect 2 "lr_schedule = 'linear': expected one of constant|cosine" "$Z" train "$CFG" \
  --out lrbad --set zo.lr_schedule=linear
[ ! -e lrbad/ckpt.h5 ] || fail "a refused schedule left a checkpoint"

# ---- kill -9 during checkpoint writes, then resume ----
norm_info() { "$Z" info --values --no-config "$1" | grep -v -e '^checkpoint:' -e '^created:' -e '^host:' -e 'run/seconds' -e 'zo/seconds'; }
norm_log() { cut -d, -f1-3,5- "$1"; }
wait_for() { # file, timeout in steps of 0.02 s
  local i=0
  while [ ! -e "$1" ] && [ $i -lt "$2" ]; do sleep 0.02; i=$((i + 1)); done
}
# 20 checkpoints of ~0.4 s each (with the delay) so that four kills at
# random moments never reach the end; checkpointing does not change the
# training, so the reference is the run above
"$Z" config "$CFG" --set train.checkpoint_every=100 > kill.ini
kills=0 resumed_from=()
for round in 1 2 3 4; do
  rm -f killed/ckpt.h5.tmp # wait below for a write of this process
  if [ $round -eq 1 ]; then
    ZOPTIC_TEST_CKPT_DELAY_MS=25 "$Z" train kill.ini --out killed >/dev/null 2>round.err &
  else
    ZOPTIC_TEST_CKPT_DELAY_MS=25 "$Z" train --resume killed >/dev/null 2>round.err &
  fi
  pid=$!
  wait_for killed/ckpt.h5.tmp 3000 # up to 60 s: slow under asan on a loaded machine
  # a random moment within the next few checkpoint writes (each takes
  # ~0.4 s with the delay, so most kills land inside a write)
  ms=$((RANDOM % 1500))
  sleep "$(printf '%d.%03d' $((ms / 1000)) $((ms % 1000)))"
  if kill -9 $pid 2>/dev/null; then kills=$((kills + 1)); fi
  { wait $pid || true; } 2>/dev/null
  resumed_from+=("$(sed -nE 's/.*resuming killed at iteration ([0-9]+).*/\1/p' round.err)")
  # the previous checkpoint is intact whatever the moment of the kill
  if [ -e killed/ckpt.h5 ]; then
    "$Z" info killed/ckpt.h5 >/dev/null 2>&1 || fail "checkpoint unreadable after kill in round $round"
  fi
done
[ $kills -eq 4 ] || fail "only $kills of 4 runs were killed mid-run"
# the last kill leaves a stale ckpt.h5.tmp half the time: resume copes
"$Z" train --resume killed >/dev/null 2>resume.err || fail "final resume failed: $(cat resume.err)"
it=$(sed -nE 's/.*resuming killed at iteration ([0-9]+).*/\1/p' resume.err)
[ -n "$it" ] && [ "$it" -gt 0 ] || fail "final resume did not start from a mid-run checkpoint: $(cat resume.err)"
echo "kill/resume: $kills kills; resumed at iterations ${resumed_from[*]:1} $it" >&2
diff <(norm_info ref/ckpt.h5) <(norm_info killed/ckpt.h5) >/dev/null \
  || fail "theta/state after kills and resumes differ from the uninterrupted run"
diff <(norm_log ref/log.csv) <(norm_log killed/log.csv) > log.diff \
  || fail "log.csv after kills and resumes differs from the uninterrupted run: $(head -n 4 log.diff)"
[ ! -e killed/ckpt.h5.tmp ] || fail "temporary checkpoint left after the final resume"
# killed before the first checkpoint: resume starts over from config.ini
ZOPTIC_TEST_CKPT_DELAY_MS=25 "$Z" train "$CFG" --out early >/dev/null 2>&1 &
pid=$!
wait_for early/ckpt.h5.tmp 500
{ kill -9 $pid; wait $pid; } 2>/dev/null || true
[ ! -e early/ckpt.h5 ] || fail "early kill left a checkpoint"
"$Z" train --resume early >/dev/null 2>&1 || fail "resume without a checkpoint failed"
diff <(norm_log ref/log.csv) <(norm_log early/log.csv) >/dev/null || fail "early-kill log differs"
expect 2 "is not a run directory" "$Z" train --resume nowhere

# ---- data files (toy task reading data.path): exit 3 on bad data ----
awk 'BEGIN { srand(7); for (r = 0; r < 400; r++) { s = ""; for (j = 0; j < 16; j++) { x[j] = 2 * rand() - 1; s = s x[j] "," }
  print s (x[0] + x[1]) "," (x[2] - x[3]) "," (0.5 * x[4]) "," (x[5] + x[6] + x[7]) } }' > data.csv
out=$("$Z" train "$CFG" --out csvrun --set data.path="$T/data.csv" --set data.n_train=0 --set data.n_test=0 2>&1) \
  || fail "training on a CSV file failed: $out"
awk -F, 'NR == 2 { first = $7 } END { exit !($7 < first / 10) }' csvrun/log.csv || fail "CSV run did not learn"
out=$("$Z" eval csvrun/ckpt.h5 | grep -c 'samples=100$')
[ "$out" = 1 ] || fail "eval of the CSV run: expected 100 test samples (a quarter of 400 rows)"
head -n 40 data.csv > small.csv
expect 0 "samples=10" "$Z" eval csvrun/ckpt.h5 --data "$T/small.csv"
expect 3 "data.path = $T/gone.csv: no such file or directory" "$Z" eval csvrun/ckpt.h5 --data "$T/gone.csv"
{ head -n 2 data.csv; echo "1,2,three"; } > bad.csv
expect 3 "bad.csv:3: 3 columns, expected 20 like line 1" \
  "$Z" train "$CFG" --out r_badcsv --set data.path="$T/bad.csv"
expect 3 "small.csv: 40 rows; need n_train + n_test = 512 + 256 rows" \
  "$Z" train "$CFG" --out r_small --set data.path="$T/small.csv"

# ---- bad checkpoints: exit 4 with a clear message ----
cp ref/ckpt.h5 good.h5
size=$(stat -c %s good.h5)
head -c $((size / 2)) good.h5 > trunc.h5
expect 4 "trunc.h5: corrupt zoptic checkpoint (size check: the file has $((size / 2)) bytes" "$Z" info trunc.h5
expect 4 "trunc.h5: corrupt zoptic checkpoint (size check" "$Z" eval trunc.h5
printf 'not hdf5 at all\n' > junk.h5
expect 4 "junk.h5: not a zoptic checkpoint (not an HDF5 file" "$Z" info junk.h5
expect 4 "missing.h5: cannot open checkpoint" "$Z" info missing.h5
mkdir -p broken && cp ref/config.ini ref/log.csv broken/ && cp trunc.h5 broken/ckpt.h5
expect 4 "corrupt zoptic checkpoint (size check" "$Z" train --resume broken
# HDF5's own error stack is silenced
out=$("$Z" info trunc.h5 2>&1 || true)
! grep -q 'HDF5-DIAG' <<<"$out" || fail "HDF5 error stack printed: $out"

# ---- plot ----
"$Z" train "$CFG" --out second --set zo.lr=0.001 >/dev/null 2>&1 || fail "second run failed"
out=$("$Z" plot ref second -o both.png 2>&1) || fail "plot failed: $out"
[ "$(head -c 4 both.png | od -An -c | tr -d ' ')" = "211PNG" ] || fail "plot wrote no PNG"
[ "$(stat -c %s both.png)" -gt 10000 ] || fail "plot PNG suspiciously small"
"$Z" plot ref >/dev/null 2>&1 && [ -s ref/plot.png ] || fail "plot of one run"
ZOPTIC_GNUPLOT=/nonexistent/gnuplot expect 5 "not found in PATH: install gnuplot" "$Z" plot ref -o x.png
expect 2 "log.csv: cannot open" "$Z" plot nowhere

if [ $fails -ne 0 ]; then echo "$fails failure(s)"; exit 1; fi
echo "cli_test: all passed"
