#!/usr/bin/env bash
# Runs every libcheck suite binary given as argument, then every script test
# tests/*_test.sh, and prints one closing line "N passed, N failed".
# Exit status is non-zero if anything failed.
set -u
passed=0; failed=0; failed_names=()
export CK_DEFAULT_TIMEOUT=${CK_DEFAULT_TIMEOUT:-600}
for t in "$@"; do
  name=$(basename "$t")
  out=$("$t" 2>&1); rc=$?
  printf '%s\n' "$out" | grep -E '^[0-9]+%: Checks|:[EF]:' || true
  line=$(printf '%s\n' "$out" | grep -E '^[0-9]+%: Checks: [0-9]+' | tail -n 1)
  if [ -n "$line" ]; then
    n=$(sed -E 's/.*Checks: ([0-9]+).*/\1/' <<<"$line")
    f=$(sed -E 's/.*Failures: ([0-9]+).*/\1/' <<<"$line")
    e=$(sed -E 's/.*Errors: ([0-9]+).*/\1/' <<<"$line")
    passed=$((passed + n - f - e)); failed=$((failed + f + e))
    [ $((f + e)) -gt 0 ] && failed_names+=("$name")
  else
    failed=$((failed + 1)); failed_names+=("$name")
    printf '%s\n' "$out" | tail -n 20
  fi
  if [ $rc -ne 0 ] && [ -n "$line" ] && [ "$f" -eq 0 ] && [ "$e" -eq 0 ]; then
    failed=$((failed + 1)); failed_names+=("$name (exit $rc)")
  fi
done
for s in tests/*_test.sh; do
  [ -e "$s" ] || continue
  name=$(basename "$s")
  if out=$(BUILD="${BUILD:-build}" bash "$s" 2>&1); then
    # a script running pytest counts its tests (pytest's closing line)
    n=$(printf '%s\n' "$out" | sed -nE 's/^([0-9]+) passed.* in [0-9.]+s.*$/\1/p' | tail -n 1)
    echo "$name: ok${n:+ ($n pytest tests)}"; passed=$((passed + ${n:-1}))
  else
    echo "$name: FAILED"; printf '%s\n' "$out" | tail -n 30
    failed=$((failed + 1)); failed_names+=("$name")
  fi
done
[ ${#failed_names[@]} -gt 0 ] && echo "failed: ${failed_names[*]}"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
