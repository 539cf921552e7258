#!/usr/bin/env bash
# Reliability of the zoptic program (#20, docs/reliability.md): failures
# that must end cleanly with the documented exit code and message, and
# leave nothing behind.
set -euo pipefail
Z="$(cd "$(dirname "${BUILD:-build}/zoptic")" && pwd)/zoptic"
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
CFG="$ROOT/experiments/toy.ini"
T="$(mktemp -d "${TMPDIR:-/tmp}/zoptic-rel-XXXXXX")"
trap 'rm -rf "$T"' EXIT
cd "$T"
fails=0
fail() { echo "FAIL: $*" >&2; fails=$((fails + 1)); }
# expect CODE PATTERN CMD...: exit code and a fixed string in stdout+stderr
expect() {
  local code=$1 pat=$2; shift 2
  local out rc=0
  out=$("$@" 2>&1) || rc=$?
  if [ "$rc" -ne "$code" ]; then fail "'$*' exited $rc, expected $code: $out"; return; fi
  if [ -n "$pat" ] && ! grep -qF -- "$pat" <<<"$out"; then
    fail "'$*' output lacks '$pat': $out"
  fi
}

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

if [ $fails -ne 0 ]; then echo "$fails failure(s)"; exit 1; fi
echo "reliability_test: ok"
