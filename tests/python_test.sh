#!/usr/bin/env bash
# The Python package (python/zoptic over $BUILD/libzoptic.so): runs pytest on
# python/tests with Debian's /usr/bin/python3 and prints pytest's closing
# line ("N passed ..."), which scripts/run-tests.sh counts.
# Under the AddressSanitizer build (BUILD=build-asan) the tests are skipped
# with the reason printed: an ASan-instrumented libzoptic.so can only be
# loaded into python3 with libasan preloaded, and the interpreter's own
# allocations then drown the report (see docs/python.md).
set -euo pipefail
cd "$(dirname "$0")/.."
B="${BUILD:-build}"
if [ "$(basename "$B")" = build-asan ] || { [ -e "$B/libzoptic.so" ] &&
     ldd "$B/libzoptic.so" 2>/dev/null | grep -q libasan; }; then
  echo "python_test: skipped under the ASan build ($B): an ASan libzoptic.so needs"
  echo "python_test: LD_PRELOAD=libasan.so in python3; the normal build runs these tests"
  exit 0
fi
if [ ! -e "$B/libzoptic.so" ]; then
  echo "python_test: $B/libzoptic.so is missing (run make)" >&2
  exit 1
fi
export BUILD="$B" PYTHONPATH="python${PYTHONPATH:+:$PYTHONPATH}" PYTHONDONTWRITEBYTECODE=1
exec /usr/bin/python3 -m pytest -q -p no:cacheprovider python/tests
