# Shared by the round-2 scripts (run-tuned.sh, run-tuned-more.sh,
# run-sweeps.sh, ablate-copy-sgd.sh); sourced, not run.
#   C          the comparison runner (ZOPTIC=/path pins a binary)
#   COS        the cosine schedule to zero for every method
#   VAL_MNIST  the 6,400 / 1,600 validation split of the MNIST-10k training part
#   grid NAME TASK "LR ..." ARGS...  every method at every lr (METHOD@lrX), cosine
#   need_mnist_val                   writes the validation split if it is missing
C="experiments/compare ${ZOPTIC:+--zoptic $ZOPTIC}"
COS="--set zo.lr_schedule=cosine --set zo.lr_final=0"
VAL_MNIST="--set data.task=idx --set data.path=datasets/mnist-val/train8k-images-idx3-ubyte --set data.n_test=1600"

grid() {
  local name=$1 task=$2 lrs=$3 methods="" sets=() m lr; shift 3
  for m in zo-i zo-co zo-np; do
    for lr in $lrs; do
      methods="$methods,$m@lr$lr"
      sets+=(--method-set "$m@lr$lr:zo.lr=$lr")
    done
  done
  # shellcheck disable=SC2086
  $C "$task" --name "$name" --methods "${methods#,}" "${sets[@]}" --no-plot \
     --ref "zo-np@lr${lrs%% *}" $COS "$@"
}

need_mnist_val() {
  [ -f datasets/mnist-val/train8k-images-idx3-ubyte ] ||
    /usr/bin/python3 experiments/make_val_idx.py datasets/mnist datasets/mnist-val
}
