#!/bin/bash
# ZO-NP ablations on VALIDATION data (never the test part used in
# docs/results.md): equalizer on a different generated sequence (data.seed
# 1000 + s), MZI classifier and CNN on a 6,400 / 1,600 split of the MNIST-10k
# training part (experiments/make_val_idx.py). 2 seeds each, reduced budgets.
# The base ZO-NP of each ablation is the setting before it (rho 0.1, the
# classifier's t_ud 20 of experiments/demo.ini), pinned with --set so that a
# rerun reproduces docs/results.md. (The CNN part was not run: no time.)
set -e
cd "$(dirname "$0")/.."
V="--set data.task=idx --set data.path=datasets/mnist-val/train8k-images-idx3-ubyte --set data.n_test=1600"
VARIANTS="zo-i,zo-co,zo-np,zo-np@rho1,zo-np@rho10,zo-np@notrace,zo-np@all,zo-np@avg,zo-np@tud300"
MS="--method-set zo-np@rho1:zo.rho=1 --method-set zo-np@rho10:zo.rho=10
    --method-set zo-np@notrace:zo.trace_norm=false --method-set zo-np@all:zo.mode=all
    --method-set zo-np@avg:zo.fisher_avg=0.1 --method-set zo-np@tud300:zo.t_ud=300"
experiments/compare mzi-equalizer-isi --name abl-eq --methods "$VARIANTS" $MS --ref zo-np \
  --seeds 2 --first-seed 1001 --budget ${EQ_BUDGET:-400000} --jobs 2 --no-plot --set zo.rho=0.1
experiments/compare mzi-classifier-mnist10k --name abl-mzic --methods "$VARIANTS,zo-np@tud100" $MS \
  --method-set zo-np@tud100:zo.t_ud=100 --ref zo-np --seeds 2 --budget ${MZIC_BUDGET:-60000} --jobs 2 --no-plot $V --set zo.t_ud=20
experiments/compare cnn-mnist10k --name abl-cnn --methods "zo-i,zo-np,zo-np@rho1,zo-np@tud300" $MS --ref zo-np \
  --seeds 2 --budget ${CNN_BUDGET:-40000} --jobs 2 --no-plot $V --set zo.rho=0.1
