#!/bin/bash
# Copying task, validation sequences (data.seed 1001, 1002), 40k queries,
# cosine schedule: the three samplers with SGD (momentum 0.9) instead of
# Adam, each at three learning rates.  Tests the hypothesis of
# docs/results.md that ZO-co's lead on this task comes from Adam's
# per-coordinate normalisation of its sparse gradient estimates.
set -e
cd "$(dirname "$0")/.."
methods="" sets=()
for m in zo-i zo-co zo-np; do
  for lr in 0.0001 0.0003 0.001; do
    methods="$methods,$m@lr$lr"
    sets+=(--method-set "$m@lr$lr:zo.lr=$lr")
  done
done
experiments/compare ${ZOPTIC:+--zoptic $ZOPTIC} mzi-rnn-copying --name abl-copy-sgd \
  --methods "${methods#,}" "${sets[@]}" --ref zo-np@lr0.0001 --no-plot \
  --seeds 2 --first-seed 1001 --budget 40000 --jobs 2 \
  --set zo.optimizer=sgd --set zo.lr_schedule=cosine --set zo.lr_final=0
experiments/pick_lr.py experiments/out/abl-copy-sgd
