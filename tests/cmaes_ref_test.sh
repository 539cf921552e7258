#!/usr/bin/env bash
# CMA-ES (src/zo/cmaes.c) against Debian's python3-cmaes: evaluations to
# f < 1e-8 on the sphere at n = 10, 20 seeds each, full and separable;
# medians within x1.25 and no Mann-Whitney difference at p < 0.001
# (tests/cmaes_ref.py; its --full mode is the larger check of
# docs/results.md).  Loads build/libzoptic.so with ctypes.
set -u
B="${BUILD:-build}"
case "$B" in
  *asan*) echo "cmaes_ref_test: SKIP under $B: Python cannot load an AddressSanitizer library without preloading the runtime; the C code runs under asan in test_zo_cmaes"; exit 0 ;;
esac
[ -f "$B/libzoptic.so" ] || { echo "cmaes_ref_test: $B/libzoptic.so missing (make $B/libzoptic.so)"; exit 1; }
out=$(/usr/bin/python3 "$(dirname "$0")/cmaes_ref.py" "$B/libzoptic.so" --seeds 20 2>&1)
rc=$?
echo "$out"
if [ $rc -eq 77 ]; then exit 0; fi
exit $rc
