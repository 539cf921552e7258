#!/bin/bash
# Run after run-all.sh: why ZO-NP does not win on the copying RNN (ablations
# on validation sequences, data.seed 1001-1002). (This script was stopped
# after the ablation; the rest ran from run-more2.sh, and the IM/DD comparison
# of docs/results.md was rerun with data.standardize = true.)
set -e
cd "$(dirname "$0")/.."
while pgrep -f experiments/run-all.sh >/dev/null; do sleep 5; done
C=experiments/compare
$C mzi-rnn-copying --name abl-copy --seeds 2 --first-seed 1001 --budget 40000 --jobs 2 --no-plot --ref zo-np \
  --methods zo-i,zo-co,zo-np,zo-np@rho0.1,zo-np@rho10,zo-np@notrace,zo-np@nmax5,zo-i@nmax5 \
  --method-set zo-np@rho0.1:zo.rho=0.1 --method-set zo-np@rho10:zo.rho=10 \
  --method-set zo-np@notrace:zo.trace_norm=false --method-set zo-np@nmax5:zo.n_max=5 \
  --method-set zo-i@nmax5:zo.n_max=5
$C mzi-equalizer-imdd --seeds 5 --budget 1000000 --jobs 2
