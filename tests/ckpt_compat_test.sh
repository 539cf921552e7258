#!/usr/bin/env bash
# Checkpoints written before the format change still load (issue 15): the
# fixture tests/fixtures/ckpt-v1/ is a run of format version 1 (theta stored
# three times: /theta, a copy per view under /params, zo/theta in the
# state), killed after its checkpoint at iteration 10, made by zoptic
# before version 2.  Checks: info reads it; it resumes to exactly the theta
# of an uninterrupted run of its config; the checkpoint written on resume is
# version 2 and holds theta once (/theta; the views point into it; no
# zo/theta); eval reads both versions.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
B="$(cd "${BUILD:-build}" && pwd)"
Z="$B/zoptic"
FX="$ROOT/tests/fixtures/ckpt-v1"
T="$(mktemp -d "${TMPDIR:-/tmp}/zoptic-ckpt-XXXXXX")"
trap 'rm -rf "$T"' EXIT
fails=0
fail() { echo "FAIL: $*" >&2; fails=$((fails + 1)); }
# shellcheck source=tests/common/blas_pin.sh
source "$ROOT/tests/common/blas_pin.sh"
kernel=haswell
blas_pin_haswell || kernel=other
${CC:-cc} -O1 -o "$T/theta_bits" "$ROOT/tests/golden/theta_bits.c" \
  $(pkg-config --cflags --libs hdf5) || { echo "FAIL: cannot build theta_bits" >&2; exit 1; }

out=$("$Z" info "$FX/ckpt.h5" 2>&1) || fail "info on the version-1 fixture: $out"
grep -q "version 1" <<<"$out" || fail "info does not say version 1: $(head -n 3 <<<"$out")"
"$Z" eval "$FX/ckpt.h5" >/dev/null 2>&1 || fail "eval of the version-1 fixture failed"

cp -r "$FX" "$T/resumed"
out=$("$Z" train --resume "$T/resumed" 2>&1) || fail "resume from the version-1 fixture: $(tail -n 3 <<<"$out")"
grep -q "resuming .* at iteration 10" <<<"$out" || fail "did not resume at iteration 10: $(head -n 2 <<<"$out")"
# The fixture's first 10 iterations were computed by the -O2 -march=native
# build: under the sanitizer build (-O1, other float rounding) the trajectory
# after resuming cannot equal that build's own uninterrupted run, as in the
# golden test; everything else below still runs there.
case "${BUILD:-build}/$kernel" in
  *asan*) bits="resumed (bits not compared under the sanitizer build)"
          echo "ckpt_compat: bit comparison with the uninterrupted run skipped under ${BUILD} (fixture made by the -O2 build)" ;;
  */other) bits="resumed (bits not compared: no AVX2/FMA for OpenBLAS's Haswell kernels)"
          echo "ckpt_compat: bit comparison skipped: the fixture was made with OpenBLAS's Haswell kernels, which this CPU cannot run" ;;
  *)
    bits="resumed bit-identically"
    "$Z" train "$FX/config.ini" --out "$T/full" >/dev/null 2>&1 || fail "the uninterrupted run failed"
    a=$("$T/theta_bits" "$T/resumed/ckpt.h5" | sha256sum) || fail "no theta after resume"
    b=$("$T/theta_bits" "$T/full/ckpt.h5" | sha256sum) || fail "no theta in the full run"
    [ "$a" = "$b" ] || fail "theta after resuming the version-1 checkpoint differs from the uninterrupted run" ;;
esac

info=$("$Z" info --values --no-config "$T/resumed/ckpt.h5" 2>&1) || fail "info on the resumed checkpoint: $info"
grep -q "version 2" <<<"$info" || fail "the checkpoint written on resume is not version 2"
grep -q "zo/theta" <<<"$info" && fail "the version-2 checkpoint still holds zo/theta in its state"
# every view reads back as its slice of /theta
"$T/theta_bits" "$T/resumed/ckpt.h5" > "$T/theta.txt"
n_views=0
while read -r name off size; do
  n_views=$((n_views + 1))
  diff <("$T/theta_bits" "$T/resumed/ckpt.h5" "/params/$name" | tail -n +2) \
       <(tail -n +2 "$T/theta.txt" | sed -n "$((off + 1)),$((off + size))p") >/dev/null \
    || fail "view $name (offset $off, $size values) does not read as its slice of /theta"
done < <(awk '/^  view /{v=1; next} v && NF==4 && $3 ~ /^[0-9]+$/ {print $1, $3, $4} v && NF<4 {v=0}' <<<"$info")
[ "$n_views" -gt 0 ] || fail "no views listed by info"
"$Z" eval "$T/resumed/ckpt.h5" >/dev/null 2>&1 || fail "eval of the version-2 checkpoint failed"
[ "$fails" -eq 0 ] || { echo "$fails failure(s)" >&2; exit 1; }
echo "ckpt_compat: version 1 fixture read, $bits; version 2 holds theta once ($n_views views)"
