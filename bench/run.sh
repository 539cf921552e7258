#!/usr/bin/env bash
# `make bench`: builds bench/zpt_bench against build/libzoptic.a with the
# Makefile's own flags, runs every measurement in its own process (so that
# peak RSS is per method), runs the PyTorch peer, and prints ONE table
# (bench/report.py) with the goals of issues #9 and #18 marked PASS/MISS.
# Results: bench/out/results.csv (raw), bench/out/table.txt, bench/out/*.csv.
#
# Environment: BENCH_REPS (timed repetitions per figure, default 5; the
# median is reported), BENCH_QUICK=1 (3 repetitions, for a smoke run),
# BENCH_LARGE=0 (skip the large mixer's rows, several minutes),
# ZPT_THREADS (threads of the zoptic runs, zpt_model_set_threads with
# single-threaded OpenBLAS; default: the number of CPUs; docs/performance.md
# "Threads").
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
OUT=bench/out
mkdir -p "$OUT" "$BUILD/bench"
REPS=${BENCH_REPS:-5}
[ -n "${BENCH_QUICK:-}" ] && REPS=3

make -s --no-print-directory all
CFLAGS_B=$(make -s --no-print-directory -f Makefile -f bench/flags.mk bench-cflags)
LDLIBS_B=$(make -s --no-print-directory -f Makefile -f bench/flags.mk bench-ldlibs)
# shellcheck disable=SC2086
${CC:-gcc} $CFLAGS_B bench/zpt_bench.c bench/bench_gemm.c "$BUILD/libzoptic.a" $LDLIBS_B \
  -o "$BUILD/bench/zpt_bench"
B="$BUILD/bench/zpt_bench"

CSV="$OUT/results.csv"
{
  echo "section,model,variant,metric,value"
  echo "machine,cpu,$(lscpu | sed -n 's/^Model name:[[:space:]]*//p' | tr ',' ' '),cores,$(nproc)"
  echo "machine,date,$(date -u +%Y-%m-%dT%H:%MZ),load,$(cut -d' ' -f1 /proc/loadavg)"
  echo "machine,env,OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-unset} OPENBLAS_L2_SIZE=${OPENBLAS_L2_SIZE:-unset} ZPT_THREADS=${ZPT_THREADS:-unset},commit,$(git rev-parse --short HEAD 2>/dev/null || echo none)"
} >"$CSV"

run() { # label, then the zpt_bench arguments
  local label=$1
  shift
  echo "  $label" >&2
  "$B" "$@" --reps "$REPS" >>"$CSV"
}

echo "bench: measuring (each line is one process)" >&2
NCPU=$(nproc)
# Threads: OpenBLAS threads x model threads (zpt_model_set_threads), the
# same forward figures; the default is 1 x nproc (core/threads.h)
for cfg in "1 1" "$NCPU 1" "1 $NCPU"; do
  set -- $cfg
  for m in cnn mzi64 mixer; do
    "$B" forward "$m" --threads "$1" --mthreads "$2" --reps "$REPS" | sed "s/^forward,/threads_$1_$2,/" >>"$CSV"
  done
done
run "peak sgemm/cgemm ($NCPU OpenBLAS threads)" peak --threads "$NCPU"
# the per-core reference of the 'cpu' ratios: single-threaded, no spin-waiting
"$B" peak --threads 1 --reps "$REPS" | sed 's/^peak,/peak1,/' >>"$CSV"
for m in cnn mzi16 mzi32 mzi64 eq rnn mixer; do
  run "forward $m" forward "$m"
done
# the equalizer's roofline without its per-call cost: 10,000 samples per
# variation (section forward_b10000; bench/report.py)
echo "  forward eq, B = 10000" >&2
ZPT_BENCH_BATCH=10000 "$B" forward eq --reps "$REPS" >>"$CSV"
# the paper's large mixer (1,706,762 parameters): one repetition (~20-60 s)
if [ "${BENCH_LARGE:-1}" != 0 ]; then
  echo "  forward mixerL" >&2
  "$B" forward mixerL --reps 1 >>"$CSV"
fi
for m in cnn mzi16 mzi32 mzi64 eq rnn mixer; do
  for meth in zo-i zo-co zo-np; do
    run "iter $m $meth" iter "$m" "$meth"
  done
done
# ZO-NP's memory with every Fisher block present (T_ud = 1, cycle schedule;
# the mixer's 66 blocks x 510 Jacobian queries would take ~8 minutes: skipped)
for m in cnn mzi16 mzi32 mzi64 eq rnn; do
  echo "  iter $m zo-np, all Fisher blocks" >&2
  ZPT_BENCH_FILL=1 "$B" iter "$m" zo-np >>"$CSV"
done
# The large mixer (issue #18): 1 warm-up iteration (ZO-NP: the Fisher update
# at t = 0, real Jacobian queries) + 2 timed ones per process; ZO-NP's
# processes then fill Fisher blocks to the rebuttal's count after 5 epochs
# (25) and to every block, synthetic values (bench/zpt_bench.c fill_blocks).
# BENCH_LARGE=0 skips it (several minutes on this machine).
if [ "${BENCH_LARGE:-1}" != 0 ]; then
  for mn in zo-i:512 zo-co:512 zo-np:512 zo-np:256 zo-np:128; do
    echo "  iter mixerL ${mn%%:*} N_max=${mn##*:}" >&2
    ZPT_BENCH_ITERS=2 ZPT_BENCH_NMAX=${mn##*:} ZPT_BENCH_BLOCKS=25,all \
      "$B" iter mixerL "${mn%%:*}" >>"$CSV"
  done
fi
# the MZI goal and the PyTorch comparison use every-parameter perturbations
for m in cnn mzi64; do
  ZPT_BENCH_MODE=all "$B" iter "$m" zo-i --reps "$REPS" | sed 's/^iter,\([^,]*\),zo-i,/iterall,\1,zo-i,/' >>"$CSV"
done
for k in 16 32 64; do
  run "mesh K=$k" mesh "$k"
done

# The PyTorch peer (Debian's python3-torch).  OPENBLAS_* are left as they are.
PY=/usr/bin/python3
if $PY -c 'import torch' 2>/dev/null; then
  echo "  torch peer" >&2
  for th in 2 1; do
    $PY bench/torch_peer.py --threads "$th" --reps "$REPS" >>"$CSV"
  done
else
  echo "bench: /usr/bin/python3 has no torch (apt-get install python3-torch): peer skipped" >&2
fi

# The Python package: a Python black box vs the same forward in C, and the
# torch adapter vs the peer above (bench/python_bench.py, docs/python.md)
if $PY -c 'import numpy, cffi' 2>/dev/null; then
  echo "  python boxes, torch adapter" >&2
  BUILD="$BUILD" $PY bench/python_bench.py --reps "$REPS" >>"$CSV" || echo "bench: python rows failed" >&2
fi

bash bench/mpi_scaling.sh | tail -n +2 >>"$CSV" || echo "bench: mpi_scaling.sh failed" >&2 # zoptic-mpi R = 1, 2 (also bench/out/mpi.csv)

for sect in peak peak1 forward iter iterfull iterall iterblocks mesh torch threads python; do
  { echo "section,model,variant,metric,value"; grep "^$sect[,_]" "$CSV" || true; } >"$OUT/$sect.csv"
done
if [ -x $PY ]; then
  $PY bench/report.py "$CSV" | tee "$OUT/table.txt"
else
  cat "$CSV"
fi
