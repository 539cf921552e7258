#!/usr/bin/env bash
# The methods added to zo.method in round 3 (zo-sparse, zo-guided, zo-adapt,
# cmaes; docs/method.md) through the zoptic program on the toy task:
# - each trains (the final test metric is below the first logged one) and is
#   reproducible (two runs, identical theta/state/log.csv);
# - the adaptive samplers' state (zo-guided's history ring, zo-adapt's
#   running mean of g^2) and CMA-ES's (mean, paths, C, sigma) is in the
#   checkpoint;
# - a run killed -9 after a checkpoint and resumed with --resume ends with the
#   theta, state and log.csv (but the seconds column) of the uninterrupted run.
set -euo pipefail
. "$(cd "$(dirname "$0")" && pwd)/common/script.sh"  # fail, expect
Z="$(cd "$(dirname "${BUILD:-build}/zoptic")" && pwd)/zoptic"
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
T="$(mktemp -d "${TMPDIR:-/tmp}/zoptic-methods-XXXXXX")"
trap 'rm -rf "$T"' EXIT
cd "$T"
norm_info() { "$Z" info --values --no-config "$1" | grep -v -e '^checkpoint:' -e '^created:' -e '^host:' -e 'run/seconds' -e 'zo/seconds'; }
norm_log() { cut -d, -f1-3,5- "$1"; }
same_run() { # DIR_A DIR_B WHAT
  diff <(norm_info "$1/ckpt.h5") <(norm_info "$2/ckpt.h5") >/dev/null \
    || fail "$3: theta/state differ from $1"
  diff <(norm_log "$1/log.csv") <(norm_log "$2/log.csv") >/dev/null \
    || fail "$3: log.csv differs from $1: $(diff <(norm_log "$1/log.csv") <(norm_log "$2/log.csv") | head -n 4)"
}
wait_for() { local i=0; while [ ! -e "$1" ] && [ $i -lt "$2" ]; do sleep 0.02; i=$((i + 1)); done; }

# the toy task (N = 68), a checkpoint every 100 iterations
"$Z" config "$ROOT/experiments/toy.ini" --set train.checkpoint_every=100 --set train.budget=11000 > base.ini
for m in zo-sparse zo-guided zo-adapt cmaes; do
  "$Z" config base.ini --set zo.method=$m > $m.ini
  out=$("$Z" train $m.ini --out $m 2>&1) || { fail "$m: training failed: $out"; continue; }
  "$Z" train $m.ini --out $m.again >/dev/null 2>&1 || fail "$m: second run failed"
  same_run $m $m.again "$m run twice"
  first=$(sed -n 2p $m/log.csv | cut -d, -f7)
  last=$(sed -nE 's/^final: test_metric=([^ ]+) .*/\1/p' <<<"$out")
  awk -v a="$first" -v b="$last" 'BEGIN { exit !(b < 0.5 * a) }' \
    || fail "$m: the test metric did not fall: first $first, final $last"
  case $m in
    zo-guided) want='zo/sampler/guided_history' ;;
    zo-adapt) want='zo/sampler/adapt_second_moments' ;;
    cmaes) want='zo/cmaes/C' ;;
    *) want='' ;;
  esac
  # (the listing first, then grep: grep -q would close the pipe early)
  info=$("$Z" info --values --no-config $m/ckpt.h5)
  [ -z "$want" ] || grep -q "^  $want " <<<"$info" || fail "$m: $want not in the checkpoint"
  # kill -9 after the first checkpoint (slow writes: the run is still going),
  # then resume
  ZOPTIC_TEST_CKPT_DELAY_MS=60 "$Z" train $m.ini --out $m.killed >/dev/null 2>&1 &
  pid=$!
  wait_for $m.killed/ckpt.h5 3000
  sleep 0.$((RANDOM % 4 + 1))
  kill -9 $pid 2>/dev/null || fail "$m: the run ended before it could be killed"
  { wait $pid || true; } 2>/dev/null
  out=$("$Z" train --resume $m.killed 2>&1) || fail "$m: resume failed: $out"
  grep -q "resuming $m.killed at iteration [1-9]" <<<"$out" \
    || fail "$m: did not resume mid-run: $(head -n 1 <<<"$out")"
  same_run $m $m.killed "$m kill/resume"
done
expect 2 "[zo] method = 'zo-fancy': expected one of" "$Z" train base.ini --out bad --set zo.method=zo-fancy
expect 2 "[zo] sparse_frac = '0': expected a finite number in (0, 1]" "$Z" train base.ini --out bad --set zo.sparse_frac=0
expect 2 "[zo] guided_k = '0': expected an integer in [1, 1000]" "$Z" train base.ini --out bad --set zo.guided_k=0
[ ! -e bad ] || fail "a bad config created a run directory"

if [ $fails -ne 0 ]; then echo "$fails failure(s)"; exit 1; fi
echo "zo_methods_test: all passed"
