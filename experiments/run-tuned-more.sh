#!/bin/bash
# More of the second round (docs/results.md), same protocol as run-tuned.sh
# (cosine schedule, per-method lr picked on validation data):
#   mzic   the MZI classifier with chip errors on MNIST-10k (10 seeds)
#   tsweep the copying task at longer delays T = 20, 30, 50 with the rates
#          picked at T = 10 (run-tuned.sh copy first), 2 seeds
#   mixer  the small MLP-mixer on MNIST-10k, 3 seeds, 20k queries, the
#          config's lr for every method (not validated: a first look)
#   experiments/run-tuned-more.sh [mzic|tsweep|mixer ...]  (default: all)
set -e
cd "$(dirname "$0")/.."
# shellcheck source=experiments/tuned-lib.sh
. experiments/tuned-lib.sh

run_mzic() {
  need_mnist_val
  # shellcheck disable=SC2086
  grid tuned-val-mzic mzi-classifier-mnist10k "0.002 0.005 0.01" --seeds 2 --budget 150000 \
       --jobs 2 $VAL_MNIST
  local pick; pick=$(experiments/pick_lr.py experiments/out/tuned-val-mzic)
  # shellcheck disable=SC2086
  $C mzi-classifier-mnist10k --name tuned-mzic --seeds 10 --budget 150000 --jobs 2 $COS $pick
}

run_tsweep() {
  local pick; pick=$(experiments/pick_lr.py experiments/out/tuned-val-copy)
  for T in 20 30 50; do
    # shellcheck disable=SC2086
    $C mzi-rnn-copying --name tuned-copy-T$T --seeds 2 --budget 40000 --jobs 2 $COS $pick \
       --set data.copy_delay=$T
  done
}

run_mixer() {
  # shellcheck disable=SC2086
  $C mixer-mnist10k --name tuned-mixer --seeds 3 --budget 20000 --jobs 2 $COS
}

for w in "${@:-mzic tsweep mixer}"; do
  for x in $w; do "run_$x"; done
done
