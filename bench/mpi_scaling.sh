#!/usr/bin/env bash
# zoptic-mpi scaling on this machine (docs/distributed.md, "Measured"):
# training queries/s of the CNN and of the K = 64 MZI classifier on R = 1
# and R = 2 ranks, measured back to back in one run (R=1, R=2, R=1, R=2) so
# that the efficiency rate(2) / (2 rate(1)) is a ratio of neighbours; bytes
# sent per iteration and seconds per iteration in MPI (rank 0's counters);
# and, for the scaling model, the time per iteration of the 1.7 M-parameter
# mixer on one rank (a few iterations).  Data are generated (no download).
# Output: CSV rows "mpi,MODEL,R,METRIC,VALUE" on stdout (bench/run.sh appends
# them to bench/out/results.csv) and bench/out/mpi.csv.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
ZM="$(pwd)/$BUILD/zoptic-mpi"
OUT=bench/out
mkdir -p "$OUT"
if [ ! -x "$ZM" ] || ! command -v mpirun >/dev/null; then
  echo "mpi_scaling: skipped: no $ZM or no mpirun (install libopenmpi-dev openmpi-bin)" >&2
  exit 0
fi
# one thread per rank: R = 1 uses one core, R = 2 two (the efficiency is over cores)
export ZPT_THREADS=1
MPIRUN=(mpirun --oversubscribe --bind-to none)
[ "$(id -u)" -eq 0 ] && MPIRUN+=(--allow-run-as-root)
T="$(mktemp -d "${TMPDIR:-/tmp}/zoptic-mpibench-XXXXXX")"
trap 'rm -rf "$T"' EXIT
ITERS=${MPI_BENCH_ITERS:-60}

# 2,000 28x28 images of 10 classes (a bright 7x7 cell per class + noise)
perl -e 'srand(3); my $n = 2000; my ($img, $lab) = ("", "");
  for my $i (1 .. $n) { my $c = int(rand(10));
    for my $y (0 .. 27) { for my $x (0 .. 27) {
      my $on = int($x / 7) + 4 * int($y / 7) == $c;
      my $v = ($on ? 200 : 20) + int(rand(40)) - 20; $img .= chr($v < 0 ? 0 : $v); } }
    $lab .= chr($c); }
  open(my $f, ">", "'"$T"'/img-images-idx3-ubyte") or die; binmode $f;
  print $f pack("NNNN", 0x803, $n, 28, 28), $img; close $f;
  open($f, ">", "'"$T"'/img-labels-idx1-ubyte") or die; binmode $f;
  print $f pack("NN", 0x801, $n), $lab; close $f;'
common="[data]
task = idx
path = $T/img-images-idx3-ubyte
n_test = 100
batch = 100
[zo]
method = zo-np
mode = block
Q = 20
[output]
progress = off"
# the paper's CNN (6,854 parameters) and the AAAI K = 64 classifier on a chip
# with fabrication errors; budgets of ITERS iterations of Q + 1 queries
# (plus the Fisher updates), evaluation only at the end
printf '%s\n[model]\nkind = cnn\n[train]\nbudget = %d\neval_every = 100000\n' \
  "$common" $((ITERS * 21 + 431)) >"$T/cnn.ini"
printf '%s\n[model]\nkind = mzi-classifier\nK = 64\nscore_scale = 20\n[chip]\nstrength = 1\nseed = 7\n[train]\nbudget = %d\neval_every = 100000\n' \
  "$common" $((ITERS * 21 + 512)) >"$T/k64.ini"

# one run: prints "queries seconds iterations exchanges bytes_sent local_seconds mpi_seconds"
one() { # R CONFIG
  local dir="$T/run-$1-$(basename "$2" .ini)-$RANDOM" out
  out=$(timeout 900 "${MPIRUN[@]}" -n "$1" "$ZM" train "$2" --out "$dir" 2>&1) \
    || { echo "mpi_scaling: run failed: $out" >&2; return 1; }
  local q s it st
  q=$(sed -nE 's/^final: .* queries=([0-9]+) seconds=([0-9.]+).*/\1/p' <<<"$out")
  s=$(sed -nE 's/^final: .* seconds=([0-9.]+).*/\1/p' <<<"$out")
  it=$(tail -n 1 "$dir/log.csv" | cut -d, -f1)
  st=$(sed -nE 's/^zoptic-mpi: .* ([0-9]+) training \+ [0-9]+ evaluation exchanges, ([0-9]+) bytes sent, [0-9]+ received, ([0-9.]+) s evaluating its share, ([0-9.]+) s in MPI/\1 \2 \3 \4/p' <<<"$out")
  echo "$q $s $it $st"
}

{
  echo "section,model,variant,metric,value"
  echo "mpi,machine,$(nproc) cores,load_at_start,$(cut -d' ' -f1 /proc/loadavg)"
  for m in cnn k64; do
    # R=1, R=2, R=1, R=2: each rate is the sum over its two runs
    declare -A q=([1]=0 [2]=0) s=([1]=0 [2]=0)
    for R in 1 2 1 2; do
      read -r rq rs rit rex rbytes rlocal rmpi < <(one $R "$T/$m.ini")
      q[$R]=$((q[$R] + rq))
      s[$R]=$(awk -v a="${s[$R]}" -v b="$rs" 'BEGIN { print a + b }')
      last_it[$R]=$rit last_ex[$R]=$rex last_bytes[$R]=$rbytes last_mpi[$R]=$rmpi
      last_local[$R]=$rlocal last_s[$R]=$rs
    done
    for R in 1 2; do
      awk -v m=$m -v R=$R -v q="${q[$R]}" -v s="${s[$R]}" -v it="${last_it[$R]}" \
          -v ex="${last_ex[$R]}" -v b="${last_bytes[$R]}" -v t="${last_mpi[$R]}" \
          -v loc="${last_local[$R]}" -v ls="${last_s[$R]}" 'BEGIN {
        printf "mpi,%s,R=%d,queries_per_s,%.1f\n", m, R, q / s
        printf "mpi,%s,R=%d,exchanges_per_iteration,%.2f\n", m, R, ex / it
        printf "mpi,%s,R=%d,bytes_sent_per_iteration,%.0f\n", m, R, b / it
        printf "mpi,%s,R=%d,mpi_ms_per_iteration,%.3f\n", m, R, 1000 * t / it
        printf "mpi,%s,R=%d,ms_per_iteration,%.3f\n", m, R, 1000 * ls / it
        printf "mpi,%s,R=%d,query_ms_per_iteration,%.3f\n", m, R, 1000 * loc / it }'
    done
    awk -v m=$m -v q1="${q[1]}" -v s1="${s[1]}" -v q2="${q[2]}" -v s2="${s[2]}" \
      'BEGIN { printf "mpi,%s,R=2,efficiency,%.3f\n", m, (q2 / s2) / (2 * q1 / s1) }'
    unset q s
  done
} | tee "$OUT/mpi.csv"
