#!/usr/bin/env bash
# Format-1 checkpoints (no CRC-32 trailer) cannot crash zoptic (#20): HDF5
# 1.10.8 aborts or segfaults on some malformed format-1 files (found by
# fuzz_ckpt from the v1 fixture), so zoptic reads them first in a probe
# process (src/io/checkpoint_open.c) and refuses one that crashes it there with
# exit 4 and a message.  A one- and a two-byte mutation of the committed
# v1 fixture that crash `zoptic info` before this change (SIGABRT in
# HDF5's free, SIGSEGV) are refused by info, eval and --resume; the fixture itself still reads and evaluates.
set -euo pipefail
Z="$(cd "$(dirname "${BUILD:-build}/zoptic")" && pwd)/zoptic"
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
PY=/usr/bin/python3
FX="$ROOT/tests/fixtures/ckpt-v1/ckpt.h5"
T="$(mktemp -d "${TMPDIR:-/tmp}/zoptic-v1probe-XXXXXX")"
trap 'rm -rf "$T"' EXIT
source "$ROOT/tests/common/script.sh"
cd "$T"
# mutate OUT OFFSET=BYTE...: a copy of the fixture with those bytes set
mutate() { "$PY" - "$FX" "$@" <<'PYEOF'
import sys
b = bytearray(open(sys.argv[1], "rb").read())
if len(b) != 39950 or b[36004] != 0x3D or b[21813] != 0:
    sys.exit("the v1 fixture changed: find new crashing mutations (scripts/fuzz.sh, docs/reliability.md)")
for kv in sys.argv[3:]:
    i, v = kv.split("="); b[int(i)] = int(v)
open(sys.argv[2], "wb").write(b)
PYEOF
}
mutate abort.h5 36004=158
mutate segv.h5 21813=40 36004=158
expect 0 "format: zoptic-checkpoint version 1" "$Z" info "$FX"
# Under AddressSanitizer (make asan) the probe's bad free or wild read is caught
# by ASan, which reports it and exits 1 instead of dying by the signal: the
# refusal is the same, the reason says "failed (exit status 1)".
how="crashed (signal"
case "$(ldd "$Z" 2>/dev/null)" in *libasan*) how="failed (exit status 1)" ;; esac
for f in abort.h5 segv.h5; do
  expect 4 "corrupt zoptic checkpoint (format 1, without CRC-32s: HDF5 $how" "$Z" info "$f"
  expect 4 "reading it in a probe process; zoptic refuses it)" "$Z" info --values "$f"
  expect 4 "corrupt zoptic checkpoint (format 1" "$Z" eval "$f"
done
# a run directory holding such a checkpoint: resume refuses it, exit 4
mkdir run && cp "$ROOT/tests/fixtures/ckpt-v1/config.ini" "$ROOT/tests/fixtures/ckpt-v1/log.csv" run/
cp abort.h5 run/ckpt.h5
expect 4 "corrupt zoptic checkpoint (format 1" "$Z" train --resume run
[ "$fails" -eq 0 ] || { echo "ckpt_v1_probe_test: $fails failure(s)"; exit 1; }
echo "ckpt_v1_probe_test: ok (crashing format-1 files refused, exit 4)"
