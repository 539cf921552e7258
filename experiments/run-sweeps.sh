#!/bin/bash
# The Q sweep (ICML rebuttal: Q = 1, 2, 5, 10, 20, 50, 100) and the N_max sweep
# (blocked ZO-I and ZO-NP, N_max = 1 ... 431) on the CNN, MNIST-10k, with the
# round-2 protocol of docs/results.md: cosine schedule, each method's lr as
# picked on validation for the CNN (ZO-I 0.002, ZO-co 0.005, ZO-NP 0.002),
# 100k queries, 2 seeds.
set -e
cd "$(dirname "$0")/.."
# shellcheck source=experiments/tuned-lib.sh
. experiments/tuned-lib.sh
LR="--method-set zo-i:zo.lr=0.002 --method-set zo-co:zo.lr=0.005 --method-set zo-np:zo.lr=0.002"
B=${SWEEP_BUDGET:-100000}
for q in 1 2 5 10 20 50 100; do
  # shellcheck disable=SC2086
  $C cnn-mnist10k --name sweep-q$q --seeds 2 --budget $B --jobs 2 --no-plot $COS $LR --set zo.Q=$q
done
experiments/sweep zo.Q experiments/out/sweep-q experiments/out/sweep-q*
for n in 1 4 16 54 108 216 431; do
  # shellcheck disable=SC2086
  $C cnn-mnist10k --name sweep-nmax$n --methods zo-i,zo-np --seeds 2 --budget $B --jobs 2 --no-plot \
     $COS $LR --set zo.n_max=$n
done
experiments/sweep zo.n_max experiments/out/sweep-nmax experiments/out/sweep-nmax*
