#!/usr/bin/env bash
# make demo: fetches the UCI digits (once), trains the default example —
# an MZI feed-forward classifier on a simulated chip WITH fabrication
# errors, trained forward-only by ZO-NP (experiments/demo.ini) — prints the
# final test accuracy and plots the run.  Works without a terminal (CI=true).
# A previous demo run in runs/demo is moved to runs/demo.previous.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"
Z="${BUILD:-build}/zoptic"
CFG=experiments/demo.ini
RUN=runs/demo

if [ -f datasets/digits/digits.csv.gz ]; then
  echo "demo: datasets/digits/digits.csv.gz present"
else
  echo "demo: fetching the UCI digits (datasets/fetch.sh digits)"
  bash datasets/fetch.sh digits
fi

if [ -e "$RUN" ]; then
  rm -rf "$RUN.previous"
  mv "$RUN" "$RUN.previous"
  echo "demo: moved the previous $RUN to $RUN.previous"
fi
# On a terminal: one updating progress line (percentage of the budget, ETA)
# on stderr; otherwise (CI, a pipe) no progress line.  Either way the
# per-evaluation lines go to $RUN/train.out, next to log.csv, not the screen.
progress=off
[ -t 2 ] && [ -z "${CI:-}" ] && progress=on
echo "demo: $Z train $CFG --out $RUN   (MZI classifier, chip with fabrication errors, ZO-NP)"
log=$(mktemp "${TMPDIR:-/tmp}/zoptic-demo-XXXXXX")
trap 'rm -f "$log"' EXIT
rc=0
"$Z" train "$CFG" --out "$RUN" --set output.progress=$progress >"$log" || rc=$?
[ -d "$RUN" ] && cp "$log" "$RUN/train.out"
final=$(tail -n 1 "$log")
[ $rc -eq 0 ] || { echo "demo: training failed (exit $rc): $final" >&2; exit 1; }
echo "$final"
acc=$(sed -nE 's/^final: test_metric=([^ ]+) queries=([0-9]+) seconds=([^ ]+)$/\1/p' <<<"$final")
secs=$(sed -nE 's/^final: .* seconds=([^ ]+)$/\1/p' <<<"$final")
[ -n "$acc" ] || { echo "demo: training did not finish: $final" >&2; exit 1; }

plot_msg=""
if "$Z" plot "$RUN" -o "$RUN/plot.png" >/dev/null 2>plot.err.$$; then
  plot_msg="plot: $RUN/plot.png"
else
  plot_msg="plot: not written ($(head -n 1 plot.err.$$))"
fi
rm -f plot.err.$$
printf '\ndemo: final test accuracy %.2f%% on %s test digits after %s s of training\n' \
  "$(awk -v a="$acc" 'BEGIN { print 100 * a }')" "$(sed -nE 's/.*samples=([0-9]+).*/\1/p' <<<"$("$Z" eval "$RUN/ckpt.h5")")" "$secs"
echo "demo: run directory $RUN (log.csv, train.out, ckpt.h5, config.ini); $plot_msg"
echo "demo: next: $Z eval $RUN/ckpt.h5 | $Z info $RUN/ckpt.h5 | docs/quickstart.md"
