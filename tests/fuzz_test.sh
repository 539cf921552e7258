#!/usr/bin/env bash
# Every libFuzzer target (fuzz/fuzz_*.c) runs a few seconds from its
# committed seed corpus fuzz/corpus/<target>/ (scripts/fuzz.sh; `make fuzz`
# runs them longer).  A crash, sanitizer report, leak or broken round trip
# fails the test.  Skipped, with the reason, when clang's libFuzzer is not
# installed, and under the asan build (the targets are sanitizer builds of
# their own: running them twice adds nothing).
set -euo pipefail
cd "$(dirname "$0")/.."
case "${BUILD:-build}" in
  *asan*) echo "fuzz_test: skipped under ${BUILD} (the fuzz targets carry ASan+UBSan already)"; exit 0 ;;
esac
printf 'int LLVMFuzzerTestOneInput(const unsigned char *d, unsigned long n){(void)d;(void)n;return 0;}\n' \
  > "${TMPDIR:-/tmp}/zoptic-lf-probe-$$.c"
if ! clang -fsanitize=fuzzer "${TMPDIR:-/tmp}/zoptic-lf-probe-$$.c" -o "${TMPDIR:-/tmp}/zoptic-lf-probe-$$" \
     >/dev/null 2>&1; then
  rm -f "${TMPDIR:-/tmp}/zoptic-lf-probe-$$"*
  echo "fuzz_test: skipped: clang with libFuzzer is not installed (apt-get install clang)"
  exit 0
fi
rm -f "${TMPDIR:-/tmp}/zoptic-lf-probe-$$"*
FUZZ_FRESH=1 FUZZ_SECONDS=${FUZZ_SECONDS:-3} bash scripts/fuzz.sh
