#!/bin/bash
# Copying task, validation sequences (data.seed 1001, 1002), 40k queries,
# cosine schedule: the three samplers with SGD (momentum 0.9) instead of
# Adam, each at three learning rates.  Tests the hypothesis of
# docs/results.md that ZO-co's lead on this task comes from Adam's
# per-coordinate normalisation of its sparse gradient estimates.
set -e
cd "$(dirname "$0")/.."
# shellcheck source=experiments/tuned-lib.sh
. experiments/tuned-lib.sh
grid abl-copy-sgd mzi-rnn-copying "0.0001 0.0003 0.001" --seeds 2 --first-seed 1001 \
  --budget 40000 --jobs 2 --set zo.optimizer=sgd
experiments/pick_lr.py experiments/out/abl-copy-sgd
