#!/bin/bash
# The comparisons and sweeps of docs/results.md, in the order they were run.
set -e
cd "$(dirname "$0")/.."
C=experiments/compare
$C mzi-equalizer-isi --seeds 5 --budget 1000000 --jobs 2
$C mzi-classifier-mnist10k --seeds 5 --budget 150000 --jobs 2
$C cnn-mnist10k --seeds 5 --budget 40000 --jobs 2
$C mzi-rnn-copying --seeds 5 --budget 40000 --jobs 2
# Q sweep (ICML rebuttal), CNN on MNIST-10k, reduced: 2 seeds, 20k queries
for q in 1 5 20 100; do
  $C cnn-mnist10k --name qsweep-q$q --seeds 2 --budget 20000 --jobs 2 --set zo.Q=$q
done
# N_max sweep, blocked ZO-I and ZO-NP, CNN on MNIST-10k, 2 seeds, 20k queries
for n in 1 16 108 431; do
  $C cnn-mnist10k --name nmax-$n --methods zo-i,zo-np --seeds 2 --budget 20000 --jobs 2 --set zo.n_max=$n
done
