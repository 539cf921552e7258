#!/bin/bash
# The second round of comparisons (docs/results.md, "Tuned comparisons"):
# every method trains with the cosine learning-rate schedule along the query
# budget (zo.lr_schedule = cosine, lr_final = 0), and EACH METHOD gets its own
# learning rate, picked on validation data from a small grid
# (experiments/pick_lr.py: best mean validation metric), before the test
# comparison runs once with those rates.  Validation data never overlaps the
# test data: generated tasks use other data seeds (1001, 1002), MNIST-10k uses
# a 6,400 / 1,600 split of its 8,000 training images
# (experiments/make_val_idx.py datasets/mnist datasets/mnist-val).
#   experiments/run-tuned.sh [eq|cnn|copy ...]     (default: all three)
set -e
cd "$(dirname "$0")/.."
# shellcheck source=experiments/tuned-lib.sh
. experiments/tuned-lib.sh

run_eq() {
  grid tuned-val-eq mzi-equalizer-isi "0.005 0.01 0.02" --seeds 2 --first-seed 1001 \
       --budget 1000000 --jobs 2
  local pick; pick=$(experiments/pick_lr.py experiments/out/tuned-val-eq)
  # shellcheck disable=SC2086
  $C mzi-equalizer-isi --name tuned-eq --seeds 10 --budget 1000000 --jobs 2 $COS $pick
}

run_cnn() {
  need_mnist_val
  # shellcheck disable=SC2086
  grid tuned-val-cnn cnn-mnist10k "0.002 0.005 0.01" --seeds 1 --budget 300000 --jobs 2 $VAL_MNIST
  local pick; pick=$(experiments/pick_lr.py experiments/out/tuned-val-cnn)
  # shellcheck disable=SC2086
  $C cnn-mnist10k --name tuned-cnn --seeds 5 --budget 300000 --jobs 2 $COS $pick
}

run_copy() {
  grid tuned-val-copy mzi-rnn-copying "0.002 0.005 0.01" --seeds 2 --first-seed 1001 \
       --budget 40000 --jobs 2
  local pick; pick=$(experiments/pick_lr.py experiments/out/tuned-val-copy)
  # shellcheck disable=SC2086
  $C mzi-rnn-copying --name tuned-copy --seeds 10 --budget 40000 --jobs 2 $COS $pick
}

for w in "${@:-eq cnn copy}"; do
  for x in $w; do "run_$x"; done
done
