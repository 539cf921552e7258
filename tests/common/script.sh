# Helpers of the script tests (tests/*_test.sh), sourced right after
# `set -euo pipefail`: a failure counter and two checks.  A test ends with
#   [ "$fails" -eq 0 ] || ...; exit non-zero when a check failed.
fails=0
fail() { echo "FAIL: $*" >&2; fails=$((fails + 1)); }
# expect CODE PATTERN CMD...: runs CMD, checks its exit code and that its
# stdout+stderr contain PATTERN (a fixed string; empty: anything)
expect() {
  local code=$1 pat=$2; shift 2
  local out rc=0
  out=$("$@" 2>&1) || rc=$?
  if [ "$rc" -ne "$code" ]; then fail "'$*' exited $rc, expected $code: $out"; return; fi
  if [ -n "$pat" ] && ! grep -qF -- "$pat" <<<"$out"; then fail "'$*' output lacks '$pat': $out"; fi
}
