#!/usr/bin/env bash
# A run directory belongs to one process (#20 item 1): a second
# `train --resume` of a running run is refused naming the owner's pid and
# leaves the first run's log.csv whole; kill -9 leaves no stale lock; a
# checkpoint copied from another run is refused with the differing key;
# an output directory that cannot be created exits 1 (runtime), not 2.
set -euo pipefail
Z="$(cd "$(dirname "${BUILD:-build}/zoptic")" && pwd)/zoptic"
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
CFG="$ROOT/experiments/toy.ini"
T="$(mktemp -d "${TMPDIR:-/tmp}/zoptic-lock-XXXXXX")"
pids=()
cleanup() { for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null || true; done; rm -rf "$T"; }
trap cleanup EXIT
cd "$T"
fails=0
fail() { echo "FAIL: $*" >&2; fails=$((fails + 1)); }
wait_for() { # file, timeout in steps of 0.02 s
  local i=0
  while [ ! -s "$1" ] && [ $i -lt "$2" ]; do sleep 0.02; i=$((i + 1)); done
}

# A run slowed down by the checkpoint test hook (a checkpoint every 20
# iterations, each write ~0.1 s): it lasts long enough for a second process.
"$Z" config "$CFG" --set train.budget=3000 --set train.eval_every=20 \
  --set train.checkpoint_every=20 > slow.ini
"$Z" train slow.ini --out ref >/dev/null 2>&1 || fail "reference run failed"
rows=$(wc -l < ref/log.csv)

ZOPTIC_TEST_CKPT_DELAY_MS=20 "$Z" train slow.ini --out run >first.out 2>&1 &
first=$!; pids+=("$first")
wait_for run/log.csv 3000
wait_for run/ckpt.h5 3000 # a checkpoint exists: --resume would truncate log.csv
rc=0; out=$("$Z" train --resume run 2>&1) || rc=$?
[ "$rc" -eq 1 ] || fail "second --resume of a running run exited $rc, expected 1: $out"
grep -qF "run directory in use by process $first" <<<"$out" \
  || fail "the refusal does not name the owner's pid $first: $out"
rc=0; out=$("$Z" train slow.ini --out run 2>&1) || rc=$?
[ "$rc" -eq 2 ] || fail "a new run into a running run's directory exited $rc: $out"
wait "$first" || fail "the first run failed: $(cat first.out)"
got=$(wc -l < run/log.csv)
[ "$got" -eq "$rows" ] || fail "the first run's log.csv has $got lines, expected $rows"
cut -d, -f1-3,5- ref/log.csv > ref.cut; cut -d, -f1-3,5- run/log.csv > run.cut
cmp -s ref.cut run.cut || fail "the first run's log.csv differs from an undisturbed run"

# kill -9 leaves no stale lock: the resume right after it proceeds
ZOPTIC_TEST_CKPT_DELAY_MS=20 "$Z" train slow.ini --out killed >/dev/null 2>&1 &
victim=$!; pids+=("$victim")
wait_for killed/ckpt.h5 3000
kill -9 "$victim"; { wait "$victim" || true; } 2>/dev/null
"$Z" train --resume killed > resumed.out 2>&1 || fail "resume after kill -9 failed: $(cat resumed.out)"
grep -qF "resuming killed at iteration" resumed.out || fail "resume after kill -9 did not resume: $(cat resumed.out)"

# a checkpoint from another run is refused, naming the key that differs
"$Z" train "$CFG" --set train.budget=600 --out a >/dev/null 2>&1 || fail "run a failed"
"$Z" train "$CFG" --set train.budget=600 --set zo.mu=0.002 --out b >/dev/null 2>&1 || fail "run b failed"
cp b/ckpt.h5 a/ckpt.h5
cp a/log.csv a.log.before
rc=0; out=$("$Z" train --resume a 2>&1) || rc=$?
[ "$rc" -eq 4 ] || fail "a foreign checkpoint was resumed (exit $rc): $out"
grep -qF "a/ckpt.h5 does not belong to the run in a" <<<"$out" || fail "no reason given: $out"
grep -qF "[zo] mu = 0.002 / 0.001" <<<"$out" || fail "the differing key is not named: $out"
cmp -s a/log.csv a.log.before || fail "the refused resume changed a/log.csv"
# the run's own checkpoint still resumes (a finished run: nothing to do)
cp b/config.ini b.config; "$Z" train --resume b >/dev/null 2>&1 || fail "a run's own checkpoint was refused"

# an output directory that cannot be created: runtime failure, exit 1
if ! mkdir /sys/zoptic-probe 2>/dev/null; then
  rc=0; out=$("$Z" train "$CFG" --out /sys/zoptic-test/run 2>&1) || rc=$?
  [ "$rc" -eq 1 ] || fail "an uncreatable output directory exited $rc, expected 1: $out"
  grep -qF "/sys/zoptic-test: cannot create directory" <<<"$out" || fail "message: $out"
else
  rmdir /sys/zoptic-probe; echo "skipped: /sys is writable here" >&2
fi

if [ $fails -ne 0 ]; then echo "$fails failure(s)"; exit 1; fi
echo "runlock_test: ok"
