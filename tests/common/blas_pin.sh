# Sourced by the script tests that compare against committed bit patterns
# (tests/golden/theta.sha256, the format-1 fixture tests/fixtures/ckpt-v1):
# those were made with OpenBLAS's Haswell kernels.  Left to itself OpenBLAS
# picks the kernels of the CPU it finds (on an AMD EPYC with AVX-512 it
# picks Cooperlake's), whose sums round differently, so the bits differ
# although nothing in zoptic changed (found on a bare Debian 12 chroot,
# 2026-12-05: golden and ckpt_compat failed there, passed with the pin).
# blas_pin_haswell: pins the Haswell kernels where the CPU can run them
# (AVX2 and FMA); returns 1 elsewhere, where the caller skips the bit
# comparison and says so.
blas_pin_haswell() {
  if grep -qw avx2 /proc/cpuinfo 2>/dev/null && grep -qw fma /proc/cpuinfo 2>/dev/null; then
    export OPENBLAS_CORETYPE=Haswell
    return 0
  fi
  return 1
}
