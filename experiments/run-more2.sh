#!/bin/bash
# After the copying ablation: confirm its best ZO-NP variant (no trace
# normalisation) on the test sequences (the baselines' runs are the ones of
# experiments/out/mzi-rnn-copying, linked, identical configs), then IM/DD.
cd "$(dirname "$0")/.."
while kill -0 16148 2>/dev/null; do sleep 3; done
C=experiments/compare
$C mzi-rnn-copying --name mzi-rnn-copying-notrace --seeds 5 --budget 40000 --jobs 2 --method-set zo-np:zo.trace_norm=false
$C mzi-equalizer-imdd --seeds 5 --budget 1000000 --jobs 2
