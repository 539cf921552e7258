#!/usr/bin/env bash
# One chip per rank (zoptic-mpi --chip-per-rank) by closed form: builds
# tests/mpi_chips.c against the library and src/mpi/mpi_box.c with mpicc and
# runs it on 1, 2 and 3 ranks: with linear test chips of distinct seeds each
# gradient estimate is the average of per-chip finite differences (each
# against its own chip's base), computed independently in the program; with
# chips of one seed theta is the one-process theta bit for bit.
set -euo pipefail
B="$(cd "${BUILD:-build}" && pwd)"
SRC="$(cd "$(dirname "$0")/.." && pwd)"
if ! command -v mpicc >/dev/null || ! command -v mpirun >/dev/null; then
  echo "mpi_chips_test: SKIPPED: no mpicc/mpirun (install libopenmpi-dev openmpi-bin)"
  exit 0
fi
if [ ! -e "$B/libzoptic.so" ]; then
  echo "mpi_chips_test: SKIPPED: $B/libzoptic.so not built"
  exit 0
fi
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0"
T="$(mktemp -d "${TMPDIR:-/tmp}/zoptic-mpichips-XXXXXX")"
trap 'rm -rf "$T"' EXIT
SAN=()
case "$B" in *asan*) SAN=(-fsanitize=address,undefined -fno-omit-frame-pointer) ;; esac
mpicc -std=c11 -D_DEFAULT_SOURCE -O1 -g -Wall -Wextra -Werror "${SAN[@]}" -I"$SRC/src" \
  "$SRC/tests/mpi_chips.c" "$SRC/src/mpi/mpi_box.c" "$SRC/src/mpi/share_split.c" -L"$B" -lzoptic -Wl,-rpath,"$B" -lm \
  -o "$T/mpi_chips"
MPIRUN=(mpirun --oversubscribe)
[ "$(id -u)" -eq 0 ] && MPIRUN+=(--allow-run-as-root)
fails=0
for R in 1 2 3; do
  for mode in distinct same; do
    if ! out=$(timeout -k 5 120 "${MPIRUN[@]}" -n $R "$T/mpi_chips" $mode 2>&1); then
      echo "FAIL: $mode chips on $R ranks: $out" >&2; fails=$((fails + 1))
    elif ! grep -q "^mpi_chips: ok ($mode, $R ranks)" <<<"$out"; then
      echo "FAIL: $mode chips on $R ranks: no ok line: $out" >&2; fails=$((fails + 1))
    fi
  done
done
[ $fails -eq 0 ] || exit 1
echo "mpi_chips_test: all passed"
