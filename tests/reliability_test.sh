#!/usr/bin/env bash
# Reliability of the zoptic program (#20, docs/reliability.md): failures
# that must end cleanly with the documented exit code and message, and
# leave nothing behind.
set -euo pipefail
. "$(cd "$(dirname "$0")" && pwd)/common/script.sh"  # fail, expect
Z="$(cd "$(dirname "${BUILD:-build}/zoptic")" && pwd)/zoptic"
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
CFG="$ROOT/experiments/toy.ini"
T="$(mktemp -d "${TMPDIR:-/tmp}/zoptic-rel-XXXXXX")"
trap 'rm -rf "$T"' EXIT
cd "$T"

"$Z" train "$CFG" --set train.budget=600 --out run >/dev/null 2>&1 || fail "toy run failed"

# ---- zoptic plot: a failing gnuplot leaves no script in the temporary directory ----
mkdir tmpd
printf '#!/bin/sh\necho "gnuplot: broken on purpose" >&2\nexit 3\n' > failplot
chmod +x failplot
rc=0; out=$(TMPDIR="$T/tmpd" ZOPTIC_GNUPLOT="$T/failplot" "$Z" plot run -o p.png 2>&1) || rc=$?
[ "$rc" -eq 1 ] || fail "plot with a failing gnuplot exited $rc, expected 1: $out"
grep -qF "failplot failed" <<<"$out" || fail "plot failure message: $out"
[ -z "$(ls -A tmpd)" ] || fail "plot left files in TMPDIR: $(ls -A tmpd)"
for f in $(grep -oE '/[^ )]*zoptic-plot-[A-Za-z0-9]+' <<<"$out" || true); do
  [ ! -e "$f" ] || { fail "plot left its script $f"; rm -f "$f"; }
done

# ---- a budget below one iteration is refused (exit 2), not a run with test_metric=nan ----
expect 2 "train.budget = 5 queries is less than one iteration of this task costs" \
  "$Z" train "$CFG" --set train.budget=5 --out tiny
expect 2 "train.budget = 10 queries is less than one iteration" \
  "$Z" train "$CFG" --set train.budget=10 --set zo.Q=10 --out tiny2
# one iteration exactly (Q + 1 = 11 queries) is a run
expect 0 "final: test_metric=" "$Z" train "$CFG" --set train.budget=11 --out one

# ---- real keys in the precision they are used in (float32): 1e-300 is 0 there ----
expect 2 "[zo] mu = '1e-300': 1e-300 is used in float32, where it is 0" \
  "$Z" train "$CFG" --set zo.mu=1e-300 --out mu0
[ ! -e mu0 ] || fail "a refused zo.mu created a run directory"
expect 2 "[zo] lr = '1e39': 1e+39 is used in float32, where it is infinite" \
  "$Z" train "$CFG" --set zo.lr=1e39 --out lrinf
printf '[data]\ntask = toy\n[model]\nkind = toy-linear\n[zo]\neps = 1e-40\n[train]\nbudget = 100\n' > denorm.ini
expect 2 "denorm.ini:6: [zo] eps = '1e-40': 1e-40 is used in float32, where it is a denormal" \
  "$Z" config denorm.ini
# keys computed in double keep the double range; tiny normal floats pass
expect 0 "" "$Z" config "$CFG" --set data.snr_db=1e-300 --set zo.mu=1e-30

# ---- a section header missing its ']' is reported on its own line ----
printf '[data]\ntask = toy\n[model\nkind = toy-linear\n[train]\nbudget = 100\n' > nobracket.ini
expect 2 "nobracket.ini:3: section header '[model' lacks its closing ']'" "$Z" config nobracket.ini

# ---- sizes have upper bounds: refused before anything is allocated ----
expect 2 "[zo] Q = '99999999999': expected an integer in [1, 100000]" \
  "$Z" train "$CFG" --set zo.Q=99999999999 --out bigq
expect 2 "[data] batch = '100000000000': expected a non-negative integer in [1, 1048576]" \
  "$Z" train "$CFG" --set data.batch=100000000000 --out bigb

# ---- a checkpoint write that fails (a file-size limit, as on a full disk): exit 1 with
# the message, every HDF5 handle closed once (no crash in HDF5's exit clean-up), the
# previous checkpoint intact, no temporary left ----
"$Z" config "$CFG" --set train.budget=20000 --set train.checkpoint_every=20 > fs.ini
ZOPTIC_TEST_CKPT_DELAY_MS=5 "$Z" train fs.ini --out fs >/dev/null 2>&1 &
pid=$!
for _ in $(seq 1 3000); do [ -s fs/ckpt.h5 ] && break; sleep 0.02; done
kill -9 $pid 2>/dev/null || true; { wait $pid || true; } 2>/dev/null
rm -f fs/ckpt.h5.tmp
[ -s fs/ckpt.h5 ] || fail "no checkpoint to resume from"
cp fs/ckpt.h5 fs.before.h5
size=$(stat -c %s fs/ckpt.h5)
limit=$(( (size - 1024) / 1024 )) # KiB: the next checkpoint cannot be written
rc=0; out=$(trap '' XFSZ; ulimit -f "$limit"; "$Z" train --resume fs 2>&1) || rc=$?
[ "$rc" -eq 1 ] || fail "a failed checkpoint write exited $rc, expected 1: $out"
grep -qF "fs/ckpt.h5.tmp: cannot write checkpoint" <<<"$out" || fail "no message naming the file: $out"
grep -qF "File too large" <<<"$out" || fail "the system's reason is not given: $out"
cmp -s fs/ckpt.h5 fs.before.h5 || fail "the previous checkpoint changed"
[ ! -e fs/ckpt.h5.tmp ] || fail "a partial checkpoint was left"
expect 0 "" "$Z" info fs/ckpt.h5
"$Z" train --resume fs >/dev/null 2>&1 || fail "resume without the limit failed"

# ---- damaged checkpoints: "corrupt zoptic checkpoint (which check, where)", exit 4 ----
cp fs/ckpt.h5 flip.h5
/usr/bin/python3 -c "
import sys; b = bytearray(open('flip.h5', 'rb').read()); b[len(b) // 3] ^= 0x10
open('flip.h5', 'wb').write(b)"
expect 4 "flip.h5: corrupt zoptic checkpoint (block CRC-32 check: bytes " "$Z" eval flip.h5
head -c 20000 fs/ckpt.h5 > cut.h5
expect 4 "cut.h5: corrupt zoptic checkpoint (size check: the file has 20000 bytes" "$Z" info cut.h5
# a checkpoint is still an HDF5 file for h5py (the trailer follows HDF5's end of file)
/usr/bin/python3 -c "
import h5py
with h5py.File('fs/ckpt.h5', 'r') as f:
    assert f.attrs['format'] == b'zoptic-checkpoint' and f['theta'].shape == (68,)
" || fail "h5py cannot read a checkpoint"

if [ $fails -ne 0 ]; then echo "$fails failure(s)"; exit 1; fi
echo "reliability_test: ok"
