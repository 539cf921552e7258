#!/usr/bin/env bash
# A bit flip in a checkpoint names what was lost (#20): the block CRC-32
# check reports the byte range, and the object map recorded between the
# HDF5 image and the trailer (src/io/ckpt_map.h) names the dataset whose
# bytes no longer match.  Where each dataset's data lies is taken from
# HDF5 itself (h5py's get_offset), independently of zoptic's map; a flip
# in /theta names /theta only, one in the optimizer's moments names that
# item only, a flip in the map says so, and a trailer-checked file written
# without a map (rebuilt here in Python from the documented trailer
# layout) is still read, and a flip in it is reported by range alone.
set -euo pipefail
Z="$(cd "$(dirname "${BUILD:-build}/zoptic")" && pwd)/zoptic"
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
PY=/usr/bin/python3
if ! "$PY" -c 'import h5py, numpy' 2>/dev/null; then
  echo "ckpt_map_test: SKIP: /usr/bin/python3 lacks h5py or numpy (apt-get install python3-h5py python3-numpy)"
  exit 0
fi
T="$(mktemp -d "${TMPDIR:-/tmp}/zoptic-ckmap-XXXXXX")"
trap 'rm -rf "$T"' EXIT
source "$ROOT/tests/common/script.sh"
cd "$T"
"$Z" train "$ROOT/experiments/toy.ini" --set train.budget=2000 --out run >/dev/null 2>&1 ||
  { echo "FAIL: toy run"; exit 1; }
C=run/ckpt.h5
expect 0 "format: zoptic-checkpoint version 2" "$Z" info "$C"
# flip FILE OFFSET: a copy of the checkpoint with byte OFFSET inverted
flip() { "$PY" - "$C" "$1" "$2" <<'PYEOF'
import sys
b = bytearray(open(sys.argv[1], "rb").read()); i = int(sys.argv[3]); b[i] ^= 0xFF
open(sys.argv[2], "wb").write(b)
PYEOF
}
# data extent of a dataset, "FIRST LAST", from HDF5
extent() { "$PY" - "$C" "$1" <<'PYEOF'
import sys, h5py
with h5py.File(sys.argv[1], "r") as f:
    d = f[sys.argv[2]]; o = d.id.get_offset(); n = d.id.get_storage_size()
    print(o, o + n - 1)
PYEOF
}
read -r t0 t1 < <(extent /theta)
read -r m0 m1 < <(extent /state/zo/optimizer/m)
[ "$t1" -gt "$t0" ] && [ "$m1" -gt "$m0" ] || fail "extents: /theta $t0..$t1, m $m0..$m1"
flip theta.h5 $(( (t0 + t1) / 2 ))
expect 4 "damaged: the data of /theta (bytes $t0..$t1))" "$Z" info theta.h5
expect 4 "corrupt zoptic checkpoint (block CRC-32 check: bytes " "$Z" eval theta.h5
out=$("$Z" info theta.h5 2>&1 || true)
grep -q optimizer <<<"$out" && fail "a flip in /theta also blames the optimizer: $out"
flip moment.h5 $(( m0 + 3 ))
expect 4 "damaged: the data of /state/zo/optimizer/m (bytes $m0..$m1))" "$Z" info moment.h5
out=$("$Z" info moment.h5 2>&1 || true)
grep -q "/theta" <<<"$out" && fail "a flip in the moments also blames /theta: $out"
# two flips: both named
"$PY" - "$C" both.h5 $((t0 + 1)) $((m1 - 1)) <<'PYEOF'
import sys
b = bytearray(open(sys.argv[1], "rb").read())
for i in sys.argv[3:]: b[int(i)] ^= 0x01
open(sys.argv[2], "wb").write(b)
PYEOF
expect 4 "the data of /theta (bytes $t0..$t1)" "$Z" info both.h5
expect 4 "the data of /state/zo/optimizer/m (bytes $m0..$m1)" "$Z" info both.h5
# the superblock (byte 20: HDF5 metadata no dataset owns)
flip super.h5 20
expect 4 "damaged: HDF5 metadata that no one dataset owns" "$Z" info super.h5
# the map itself (its footer's entry count: the 32 bytes before the trailer)
size=$(stat -c %s "$C")
flip map.h5 $((size - 512 - 8))
expect 4 "damaged: the checkpoint's object map" "$Z" info map.h5
# a trailer-checked file without a map (as written before the map existed)
"$PY" - "$C" nomap.h5 <<'PYEOF'
import struct, sys, zlib
b = open(sys.argv[1], "rb").read()
eof = struct.unpack("<Q", b[40:48])[0]          # superblock v0: end-of-file address
img = b[:eof]
bs = max(4096, (len(img) + 117) // 118 + 4095) // 4096 * 4096
n = (len(img) + bs - 1) // bs
t = bytearray(512)
t[0:11] = b"zoptic-ckpt"
struct.pack_into("<IIQII", t, 16, 1, zlib.crc32(img), len(img) + 512, bs, n)
for i in range(n):
    struct.pack_into("<I", t, 40 + 4 * i, zlib.crc32(img[i * bs:(i + 1) * bs]))
open(sys.argv[2], "wb").write(img + bytes(t))
PYEOF
expect 0 "format: zoptic-checkpoint version 2" "$Z" info nomap.h5
C=nomap.h5 flip nomap-flip.h5 $((t0 + 5))
expect 4 "damaged: objects unknown (no object map" "$Z" info nomap-flip.h5
# the format-1 fixture (no trailer, no map) still reads
expect 0 "format: zoptic-checkpoint version 1" "$Z" info "$ROOT/tests/fixtures/ckpt-v1/ckpt.h5"
[ "$fails" -eq 0 ] || { echo "ckpt_map_test: $fails failure(s)"; exit 1; }
echo "ckpt_map_test: ok (flips in /theta [$t0..$t1] and in zo/optimizer/m [$m0..$m1] named)"
