#!/usr/bin/env bash
# zoptic-mpi scaling on this machine (docs/distributed.md, "Measured"):
# training queries/s of the CNN and of the K = 64 MZI classifier on R = 1
# and R = 2 ranks, measured back to back in one run (R=1, R=2, R=1, R=2) so
# that the efficiency rate(2) / (2 rate(1)) is a ratio of neighbours, once
# with mpirun's default binding (each rank bound to a core: a dedicated
# machine) and once unbound (--bind-to none: a shared one); per iteration
# (rank 0's counters): bytes sent, ms in MPI, of which waiting for a slower
# rank's share (load imbalance) and CPU ms of the busiest share above the mean, ms in
# its share of the queries, ms between exchanges (the trainer's own work
# every rank repeats); a PASS/MISS row per model against the issue's 0.8;
# the load average at the start and the end (the figures are honest only on
# an idle machine: R = 2 needs both cores).  Data are generated (no
# download).  MPI_BENCH_ITERS (default 600) iterations per run: with 40,
# start-up and the Fisher updates dominate.  MPI_BENCH_ZM_ARGS: options for
# zoptic-mpi (e.g. --exchange-outputs: the path where every rank draws every
# perturbation and computes every loss, for an A/B in one session).
# Output: CSV rows "mpi,MODEL,VARIANT,METRIC,VALUE" on stdout (bench/run.sh
# appends them to bench/out/results.csv) and bench/out/mpi.csv.
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
MPIRUN=(mpirun --oversubscribe)
[ "$(id -u)" -eq 0 ] && MPIRUN+=(--allow-run-as-root)
BINDS=${MPI_BENCH_BINDS:-"core none"}
T="$(mktemp -d "${TMPDIR:-/tmp}/zoptic-mpibench-XXXXXX")"
trap 'rm -rf "$T"' EXIT
ITERS=${MPI_BENCH_ITERS:-600}

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

# one run: prints "queries seconds iterations exchanges bytes_sent
# local_seconds mpi_seconds imbalance_seconds cpu_imbalance_seconds outside_seconds
# outside_cpu_seconds"
one() { # BIND R CONFIG
  local dir="$T/run-$2-$(basename "$3" .ini)-$RANDOM" out
  out=$(timeout 900 "${MPIRUN[@]}" --bind-to "$1" -n "$2" "$ZM" ${MPI_BENCH_ZM_ARGS:-} train "$3" --out "$dir" 2>&1) \
    || { echo "mpi_scaling: run failed: $out" >&2; return 1; }
  local q s it st
  q=$(sed -nE 's/^final: .* queries=([0-9]+) seconds=([0-9.]+).*/\1/p' <<<"$out")
  s=$(sed -nE 's/^final: .* seconds=([0-9.]+).*/\1/p' <<<"$out")
  it=$(tail -n 1 "$dir/log.csv" | cut -d, -f1)
  st=$(sed -nE 's/^zoptic-mpi: .* ([0-9]+) training \+ [0-9]+ evaluation exchanges, ([0-9]+) bytes sent, [0-9]+ received, ([0-9.]+) s evaluating its share \([0-9.]+ s CPU\), ([0-9.]+) s in MPI \(([0-9.]+) s of it waiting for a slower rank.s share; ([0-9.]+) s CPU of the busiest share above the mean\), ([0-9.]+) s between exchanges \(([0-9.]+) s CPU\)/\1 \2 \3 \4 \5 \6 \7 \8/p' <<<"$out")
  [ -n "$q" ] && [ -n "$st" ] || { echo "mpi_scaling: unexpected output: $out" >&2; return 1; }
  echo "$q $s $it $st"
}

{
  echo "section,model,variant,metric,value"
  echo "mpi,machine,$(nproc) cores,load_at_start,$(cut -d' ' -f1 /proc/loadavg)"
  echo "mpi,machine,,iterations_per_run,$ITERS"
  for bind in $BINDS; do
    for m in cnn k64; do
      # R=1, R=2, R=1, R=2: each rate is the sum over its two runs; the
      # per-iteration figures are the means over both
      declare -A q=([1]=0 [2]=0) s=([1]=0 [2]=0) acc=()
      for R in 1 2 1 2; do
        read -r rq rs rit rex rbytes rlocal rmpi rimb rcpu rout rocpu < <(one "$bind" $R "$T/$m.ini")
        q[$R]=$((q[$R] + rq))
        s[$R]=$(awk -v a="${s[$R]}" -v b="$rs" 'BEGIN { print a + b }')
        acc[$R]="${acc[$R]:-} $rit $rex $rbytes $rlocal $rmpi $rimb $rcpu $rout $rs $rocpu"
      done
      for R in 1 2; do
        awk -v m=$m -v R=$R -v b=$bind -v q="${q[$R]}" -v s="${s[$R]}" -v a="${acc[$R]}" 'BEGIN {
          n = split(a, x, " ")
          for (i = 0; i < n; i++) t[i % 10] += x[i + 1]
          it = t[0]; v = "R=" R " bind=" b
          printf "mpi,%s,%s,queries_per_s,%.1f\n", m, v, q / s
          printf "mpi,%s,%s,ms_per_iteration,%.3f\n", m, v, 1000 * t[8] / it
          printf "mpi,%s,%s,query_ms_per_iteration,%.3f\n", m, v, 1000 * t[3] / it
          printf "mpi,%s,%s,mpi_ms_per_iteration,%.3f\n", m, v, 1000 * t[4] / it
          printf "mpi,%s,%s,imbalance_wait_ms_per_iteration,%.3f\n", m, v, 1000 * t[5] / it
          printf "mpi,%s,%s,imbalance_cpu_ms_per_iteration,%.3f\n", m, v, 1000 * t[6] / it
          printf "mpi,%s,%s,between_exchanges_ms_per_iteration,%.3f\n", m, v, 1000 * t[7] / it
          printf "mpi,%s,%s,between_exchanges_cpu_ms_per_iteration,%.3f\n", m, v, 1000 * t[9] / it
          printf "mpi,%s,%s,exchanges_per_iteration,%.2f\n", m, v, t[1] / it
          printf "mpi,%s,%s,bytes_sent_per_iteration,%.0f\n", m, v, t[2] / it }'
      done
      awk -v m=$m -v b=$bind -v q1="${q[1]}" -v s1="${s[1]}" -v q2="${q[2]}" -v s2="${s[2]}" \
        'BEGIN { e = (q2 / s2) / (2 * q1 / s1)
                 printf "mpi,%s,R=2 bind=%s,efficiency,%.3f\n", m, b, e
                 printf "mpi,%s,R=2 bind=%s,efficiency_target_0.8,%s\n", m, b, (e >= 0.8 ? "PASS" : "MISS") }'
      unset q s acc
    done
  done
  echo "mpi,machine,$(nproc) cores,load_at_end,$(cut -d' ' -f1 /proc/loadavg)"
} | tee "$OUT/mpi.csv"
