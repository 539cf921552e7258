#!/usr/bin/env bash
# The command line as GNU tools have it (issue 15): --out=DIR as well as
# --out DIR, unambiguous prefixes, -V, "did you mean" for a mistyped
# command, option, --set key or config key, and one message prefix style
# ("zoptic: COMMAND: ...").
set -euo pipefail
. "$(cd "$(dirname "$0")" && pwd)/common/script.sh"  # fail, expect
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
B="$(cd "${BUILD:-build}" && pwd)"
Z="$B/zoptic"
T="$(mktemp -d "${TMPDIR:-/tmp}/zoptic-args-XXXXXX")"
trap 'rm -rf "$T"' EXIT
cd "$T"
CFG="$ROOT/experiments/toy.ini"
SMALL=(--set train.budget=300 --set output.progress=off)

v=$("$Z" version)
expect 0 "$v" "$Z" -V
expect 0 "$v" "$Z" --version
expect 0 "" "$Z" train "$CFG" "${SMALL[@]}" --out=eq_form
[ -f eq_form/ckpt.h5 ] || fail "--out=DIR did not write its run directory"
expect 0 "" "$Z" train "${SMALL[@]}" --ou=prefix "$CFG" # a prefix, options before the config
[ -f prefix/ckpt.h5 ] || fail "--ou=DIR (an unambiguous prefix) did not write its run directory"
expect 0 "" "$Z" train "$CFG" --set=train.budget=300 --set=output.progress=off --out spaced
[ -f spaced/ckpt.h5 ] || fail "--out DIR did not write its run directory"
expect 2 "zoptic: unknown command 'trian'; did you mean 'train'?" "$Z" trian "$CFG"
expect 2 "zoptic: unknown command 'frobnicate' (try 'zoptic help')" "$Z" frobnicate
expect 2 "zoptic: train: unknown option '--ot=x'; did you mean '--out'?" "$Z" train "$CFG" --ot=x
expect 2 "zoptic: train: unknown option '--reusme'; did you mean '--resume'?" "$Z" train --reusme x
expect 2 "zoptic: train: --out needs a value" "$Z" train "$CFG" --out
expect 2 "zoptic: train: unexpected argument 'extra'" "$Z" train "$CFG" extra
expect 2 "unknown key 'lrr' in section [zo]; did you mean 'zo.lr'?" \
  "$Z" train "$CFG" --set zo.lrr=0.1 --out k1
expect 2 "unknown section [trian]; did you mean [train]?" \
  "$Z" train "$CFG" --set trian.budget=5 --out k2
sed 's/^budget = /budgett = /' "$CFG" > typo.ini
expect 2 "unknown key 'budgett' in section [train]; did you mean 'train.budget'?" \
  "$Z" train typo.ini --out k3
expect 2 "zoptic: eval: unknown option '--dta=x'; did you mean '--data'?" "$Z" eval eq_form/ckpt.h5 --dta=x
# one prefix style: every message of the program starts "zoptic: "
for args in "train --bogus" "train" "config" "info" "plot --bogus" "eval"; do
  out=$("$Z" $args 2>&1 >/dev/null || true)
  first=$(head -n 1 <<<"$out")
  case "$first" in zoptic:\ *|usage:*) ;; *) fail "'zoptic $args': message without the 'zoptic: ' prefix: $first" ;; esac
done
[ "$fails" -eq 0 ] || { echo "$fails failure(s)" >&2; exit 1; }
echo "cli_args: all passed"
