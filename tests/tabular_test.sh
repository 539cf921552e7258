#!/usr/bin/env bash
# Script test of a user's own table as a classification task (issue #15):
# a wine-like CSV written here (a header of names, labels 1..3 in the first
# column, 13 features of very different scales) trains with a config of 8
# lines and no padding, with the mlp and with the mzi-classifier; the label
# mapping and header are reported; the split's rows are in the checkpoint;
# a wrong label column is refused.  The scikit-learn files of Debian's
# python3-sklearn (experiments/wine-mlp.ini, breast-cancer-mlp.ini) are run
# briefly when present, skipped with a printed reason otherwise.
set -euo pipefail
B="$(cd "${BUILD:-build}" && pwd)"
Z="$B/zoptic"
SRC="$(pwd)"
T="$(mktemp -d "${TMPDIR:-/tmp}/zoptic-tabular-XXXXXX")"
trap '[ -n "${KEEP:-}" ] || rm -rf "$T"' EXIT
cd "$T"
fails=0
fail() { echo "FAIL: $*" >&2; fails=$((fails + 1)); }
final_metric() { sed -nE 's/^final: test_metric=([^ ]+) .*/\1/p' <<<"$1"; }

# 150 rows: class c = 1..3 shifts each feature by (c - 2) * its scale
awk 'BEGIN { srand(11); printf "class"; for (k = 1; k <= 13; k++) printf ",f%d", k; print "";
  for (i = 0; i < 150; i++) { c = 1 + i % 3; printf "%d", c;
    for (k = 1; k <= 13; k++) { s = (k == 13) ? 300 : (k % 4 == 0 ? 20 : 1);
      printf ",%.4f", s * (5 + 1.2 * (c - 2) * ((k % 3) - 1 + (k == 13)) + (rand() + rand() + rand() - 1.5)) }
    print "" } }' > table.csv
cat > t.ini <<EOF
[data]
task = csv
path = $T/table.csv
label_column = 0
[model]
kind = mlp
[train]
budget = 6000
EOF
[ "$(wc -l < t.ini)" -le 10 ] || fail "the config has more than 10 lines"
out=$("$Z" train t.ini --out mlp --set zo.lr=0.03 2>&1) || fail "mlp run failed: $out"
grep -qF "line 1 taken as the header; 150 rows, 13 features, label column 0" <<<"$out" \
  || fail "no header/shape report: $out"
grep -qF "3 classes, labels mapped: '1' -> 0 (50 rows), '2' -> 1 (50 rows), '3' -> 2 (50 rows)" <<<"$out" \
  || fail "no mapping report: $out"
m=$(final_metric "$out")
# measured 1.0 (30 test rows) on 2026-12-04
awk -v m="$m" 'BEGIN { exit !(m >= 0.8) }' || fail "mlp did not learn: accuracy $m (chance 0.33)"
[ "$("$Z" eval mlp/ckpt.h5 2>/dev/null | cut -d' ' -f2)" = "test_metric=$(tail -n 1 mlp/log.csv | cut -d, -f7)" ] \
  || fail "eval does not reproduce the logged metric"
# the split: 30 test rows and 120 train rows, together every row once
"$Z" info --values mlp/ckpt.h5 > info.txt
te=$(sed -nE 's/^ *task\/split\/test_rows +uint64\[([0-9]+)\] = (.*)/\2/p' info.txt)
tr=$(sed -nE 's/^ *task\/split\/train_rows +uint64\[([0-9]+)\] = (.*)/\2/p' info.txt)
[ "$(wc -w <<<"$te")" -eq 30 ] && [ "$(wc -w <<<"$tr")" -eq 120 ] || fail "split sizes: $(grep split info.txt | cut -c1-120)"
[ "$(echo $te $tr | tr ' ' '\n' | sort -n | uniq | tr '\n' ' ')" = "$(seq 0 149 | tr '\n' ' ')" ] \
  || fail "train and test rows are not a partition of rows 0..149"
# the same table on a simulated MZI mesh: 13 features projected to K = 16 channels
out=$("$Z" train t.ini --out mzi --set model.kind=mzi-classifier --set model.score_scale=10 \
  --set zo.lr=0.01 --set train.eval_every=25 2>&1) || fail "mzi-classifier run failed: $out"
# it learns the training rows (logged train loss 2.27 at iteration 25 -> 0.57 at 100,
# chance ln 3 = 1.10) and then overfits them (1,184 parameters, 120 rows: the train loss
# climbs back to 0.77-1.29 by the end, the last row differs between the -O2 and the asan
# build's arithmetic), so the check is the best row, not the last: measured 0.574 (-O2)
# and 0.570 (asan) on 2026-12-05; best test accuracy 0.667 at iteration 100 in both
awk -F, 'NR > 1 && (b == "" || $5 < b) { b = $5 } END { exit !(b < 0.7) }' mzi/log.csv \
  || fail "mzi-classifier: train loss never below 0.7: $(cut -d, -f5 mzi/log.csv | tr '\n' ' ')"
awk -F, 'NR > 1 && $7 > b { b = $7 } END { exit !(b >= 0.5) }' mzi/log.csv \
  || fail "mzi-classifier never above 0.5 test accuracy (chance 0.33): $(cut -d, -f7 mzi/log.csv | tr '\n' ' ')"
"$Z" info mzi/ckpt.h5 | grep "parameters: 1184" >/dev/null || fail "mzi-classifier parameters: $("$Z" info mzi/ckpt.h5 | grep parameters)"
# a column of measurements as the label
out=$("$Z" train t.ini --out bad --set data.label_column=5 2>&1) && fail "label column 5 accepted"
grep -qF "table.csv:2:6: label" <<<"$out" && grep -qF "is a fraction" <<<"$out" || fail "label column 5: $out"

# ---- the scikit-learn files, when Debian's python3-sklearn is installed ----
for cfg in wine-mlp breast-cancer-mlp; do
  f=$(sed -nE 's/^path = (.*)/\1/p' "$SRC/experiments/$cfg.ini")
  if [ ! -r "$f" ]; then echo "skipped experiments/$cfg.ini: $f not present (apt-get install python3-sklearn)"; continue; fi
  out=$("$Z" train "$SRC/experiments/$cfg.ini" --out "$cfg" --set train.budget=2000 2>&1) \
    || fail "$cfg failed: $out"
  grep -qF "line 1 taken as the header" <<<"$out" || fail "$cfg: no header report: $out"
done

if [ $fails -ne 0 ]; then echo "$fails failure(s)"; exit 1; fi
echo "tabular: all checks passed"
