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
C="experiments/compare ${ZOPTIC:+--zoptic $ZOPTIC}"
COS="--set zo.lr_schedule=cosine --set zo.lr_final=0"
VAL_MNIST="--set data.task=idx --set data.path=datasets/mnist-val/train8k-images-idx3-ubyte --set data.n_test=1600"

# grid NAME TASK "LR..." ARGS...: the validation grid, then the pick
grid() {
  local name=$1 task=$2 lrs=$3; shift 3
  local methods="" sets=()
  for m in zo-i zo-co zo-np; do
    for lr in $lrs; do
      methods="$methods,$m@lr$lr"
      sets+=(--method-set "$m@lr$lr:zo.lr=$lr")
    done
  done
  $C "$task" --name "$name" --methods "${methods#,}" "${sets[@]}" --no-plot \
     --ref "zo-np@lr${lrs%% *}" $COS "$@"
}

run_eq() {
  grid tuned-val-eq mzi-equalizer-isi "0.005 0.01 0.02" --seeds 2 --first-seed 1001 \
       --budget 1000000 --jobs 2
  local pick; pick=$(experiments/pick_lr.py experiments/out/tuned-val-eq)
  # shellcheck disable=SC2086
  $C mzi-equalizer-isi --name tuned-eq --seeds 10 --budget 1000000 --jobs 2 $COS $pick
}

run_cnn() {
  [ -f datasets/mnist-val/train8k-images-idx3-ubyte ] ||
    /usr/bin/python3 experiments/make_val_idx.py datasets/mnist datasets/mnist-val
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
