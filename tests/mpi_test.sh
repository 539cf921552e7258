#!/usr/bin/env bash
# zoptic-mpi (src/mpi, docs/distributed.md) against the plain single-process
# zoptic train, on data generated here (no downloads):
# - theta and every state dataset of the checkpoint bit-identical (compared
#   as raw bytes with h5py, not printed numbers) and log.csv identical for
#   R = 1, 2, 3 on a demo-like MZI classifier (chip errors, read-out noise,
#   ZO-NP with Fisher updates) and on a CNN with ZO-NP Fisher updates;
# - the round-3 methods (zo-sparse, zo-guided, zo-adapt, cmaes) on the MZI
#   classifier: theta, state and log bit-identical for R = 1, 2;
# - each rank drawing only its share (records path, the default): ZO-I in
#   block and all-at-once mode, central differences, ZO-co (outputs path)
#   bit-identical for R = 2, 3; --exchange-outputs bit-identical and
#   sending other bytes (the records path is taken);
# - one chip driver per rank (chip.driver with {rank}, zoptic-chipd
#   --config): bit-identical with chips of one seed; runs with distinct seeds;
# - a killed rank ends the job in bounded time naming the rank; the last
#   checkpoint loads; resuming with another R gives the uninterrupted run;
# - a rank that hangs (SIGSTOP): the others abort the job after --mpi-timeout;
# - a chip driver of one rank that hangs or dies: every rank stops with an
#   error naming the rank, within chip.timeout_s; resume continues.
# Every mpirun runs under `timeout`: the test never hangs.
set -euo pipefail
B="$(cd "${BUILD:-build}" && pwd)"
Z="$B/zoptic"
ZM="$B/zoptic-mpi"
CHIPD="$B/zoptic-chipd"
PY=/usr/bin/python3
if [ ! -x "$ZM" ]; then
  echo "mpi_test: SKIPPED: $ZM not built (no mpicc: install libopenmpi-dev openmpi-bin)"
  exit 0
fi
if ! command -v mpirun >/dev/null; then
  echo "mpi_test: SKIPPED: no mpirun (install openmpi-bin)"
  exit 0
fi
if ! "$PY" -c 'import h5py' 2>/dev/null; then
  echo "mpi_test: SKIPPED: $PY has no h5py (install python3-h5py) to compare checkpoints"
  exit 0
fi
# OpenMPI's own allocations are not zoptic's: no leak report under make asan
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0"
MPIRUN=(mpirun --oversubscribe)
[ "$(id -u)" -eq 0 ] && MPIRUN+=(--allow-run-as-root)
T="$(mktemp -d "${TMPDIR:-/tmp}/zoptic-mpi-XXXXXX")"
cleanup() { # the drivers this test started (a stopped one outlives its client)
  local p
  if [ -e "$T/driver-pids" ]; then
    while read -r p; do kill -CONT "$p" 2>/dev/null || true; kill -9 "$p" 2>/dev/null || true; done < "$T/driver-pids"
  fi
  rm -rf "$T"
}
trap cleanup EXIT
cd "$T"
fails=0
fail() { echo "FAIL: $*" >&2; fails=$((fails + 1)); }
mrun() { # R ARGS... : zoptic-mpi on R ranks, never longer than 90 s
  local n=$1; shift
  timeout -k 5 90 "${MPIRUN[@]}" -n "$n" "$ZM" --mpi-timeout 20 "$@"
}
same_ckpt() { "$PY" - "$1" "$2" <<'EOF'
import sys, h5py
def items(path):
    out = {}
    with h5py.File(path, 'r') as f:
        def visit(name, obj):
            if isinstance(obj, h5py.Dataset) and not name.endswith('seconds'):
                out[name] = (obj.dtype.str, obj.shape, obj[()].tobytes())
        f.visititems(visit)
    return out
a, b = items(sys.argv[1]), items(sys.argv[2])
bad = sorted(set(a) ^ set(b)) + [k for k in sorted(set(a) & set(b)) if a[k] != b[k]]
if not any(k.startswith('params/') for k in a):
    bad.append('(no params/ datasets)')
if bad:
    print(' '.join(bad[:6]))
    sys.exit(1)
EOF
}
norm_log() { cut -d, -f1-3,5- "$1"; } # without the seconds column
same_run() { # DIR_A DIR_B WHAT
  local d
  d=$(same_ckpt "$1/ckpt.h5" "$2/ckpt.h5") || fail "$3: checkpoint differs from $1: $d"
  diff <(norm_log "$1/log.csv") <(norm_log "$2/log.csv") >/dev/null \
    || fail "$3: log.csv differs from $1"
}
rank_pid() { # RANK ARG: the zoptic-mpi process of that rank whose command line has ARG
  local p
  for p in $(pgrep -f "zoptic-mpi.*$2" || true); do
    grep -qaz "^OMPI_COMM_WORLD_RANK=$1\$" "/proc/$p/environ" 2>/dev/null && { echo "$p"; return; }
  done
}

# ---- data: a digits-format CSV (64 pixels 0..16 + label) and a 14x14 IDX pair ----
awk 'BEGIN { srand(5); for (i = 0; i < 400; i++) { c = int(rand() * 10); s = "";
  for (p = 0; p < 64; p++) { v = (int(p / 8) == c % 8 && (c < 8 || p % 2 == c - 8)) ? 16 : int(rand() * 4); s = s v "," }
  print s c } }' > digits.csv
perl -e 'srand(3); my $n = 300; my ($img, $lab) = ("", "");
  for my $i (1 .. $n) { my $c = int(rand(3));
    for my $y (0 .. 13) { for my $x (0 .. 13) {
      my $on = ($c == 0 && $x < 7) || ($c == 1 && $y < 7) || ($c == 2 && $x >= 7);
      my $v = ($on ? 200 : 20) + int(rand(40)) - 20; $img .= chr($v < 0 ? 0 : $v > 255 ? 255 : $v); } }
    $lab .= chr($c); }
  open(my $f, ">", "tiny-images-idx3-ubyte") or die; binmode $f; print $f pack("NNNN", 0x803, $n, 14, 14), $img; close $f;
  open($f, ">", "tiny-labels-idx1-ubyte") or die; binmode $f; print $f pack("NN", 0x801, $n), $lab; close $f;'
# demo.ini's network (MZI classifier K = 16, chip with errors), with read-out
# noise, ZO-NP updating a Fisher block every 5 iterations
cat > demo.ini <<EOF
[data]
task = digits
path = $T/digits.csv
n_test = 100
batch = 32
seed = 1
[model]
kind = mzi-classifier
K = 16
init_seed = 1
score_scale = 20
[chip]
strength = 1
seed = 7
noise_thermal = 0.001
[zo]
rho = 0.1
method = zo-np
mode = block
Q = 20
t_ud = 5
lr = 0.005
[train]
budget = 2500
eval_every = 10
checkpoint_every = 10
[output]
progress = off
EOF
cat > cnn.ini <<EOF
[data]
task = idx
path = $T/tiny-images-idx3-ubyte
batch = 16
[model]
kind = cnn
channels = 2
channels2 = 3
kernel = 3
width = 8
[zo]
method = zo-np
t_ud = 5
lr = 0.01
[train]
budget = 2500
eval_every = 5
checkpoint_every = 5
[output]
progress = off
EOF

t_start=$SECONDS
# ---- bit-identical theta, state and log for R = 1, 2, 3 ----
for cfg in demo cnn; do
  "$Z" train $cfg.ini --out $cfg-ref >/dev/null 2>&1 || fail "$cfg: plain zoptic train failed"
  [ -n "$("$Z" info $cfg-ref/ckpt.h5 | grep 'zo/fisher/block_0/chol' || true)" ] \
    || fail "$cfg: the reference run made no Fisher update"
  ranks="1 2 3"
  [ $cfg = cnn ] && ranks="2 3"
  for R in $ranks; do
    out=$(mrun $R train $cfg.ini --out $cfg-$R 2>&1) || { fail "$cfg on $R ranks failed: $out"; continue; }
    same_run $cfg-ref $cfg-$R "$cfg on $R ranks"
    [ "$(grep -c '^final:' <<<"$out")" -eq 1 ] || fail "$cfg on $R ranks: not one final line: $out"
    grep -q "queries/s" <<<"$out" || fail "$cfg on $R ranks: no queries/s in the progress lines"
  done
done
# the round-3 methods (src/zo, docs/method.md): the same bits on 1 and 2 ranks
# (zo-guided / zo-adapt: sampler state that every rank updates alike; cmaes:
# every rank draws the same candidates from the same state)
for m in zo-sparse zo-guided zo-adapt cmaes; do
  "$Z" train demo.ini --out m-$m-ref --set zo.method=$m --set train.budget=630 >/dev/null 2>&1 \
    || { fail "$m: plain zoptic train failed"; continue; }
  for R in 1 2; do
    out=$(mrun $R train demo.ini --out m-$m-$R --set zo.method=$m --set train.budget=630 2>&1) \
      || { fail "$m on $R ranks failed: $out"; continue; }
    same_run m-$m-ref m-$m-$R "$m on $R ranks"
  done
done
# each rank draws only its share's perturbations and computes only their
# losses; records (loss, perturbation) travel (src/zo/trainer_share.c): the
# same bits for ZO-I (block and all-at-once), central differences (a pair of
# variations may straddle two ranks) and ZO-co (its support is drawn: the
# outputs path), and with --exchange-outputs (every rank draws everything)
variants=("zo.method=zo-i" "zo.method=zo-i zo.mode=all" "zo.difference=central"
          "zo.method=zo-co" "zo.method=zo-i zo.difference=central zo.mode=all")
for i in "${!variants[@]}"; do
  sets=()
  for kv in ${variants[$i]}; do sets+=(--set "$kv"); done
  "$Z" train demo.ini --out v$i-ref "${sets[@]}" --set train.budget=630 >/dev/null 2>&1 \
    || { fail "${variants[$i]}: plain zoptic train failed"; continue; }
  for R in 2 3; do
    out=$(mrun $R train demo.ini --out v$i-$R "${sets[@]}" --set train.budget=630 2>&1) \
      || { fail "${variants[$i]} on $R ranks failed: $out"; continue; }
    same_run v$i-ref v$i-$R "${variants[$i]} on $R ranks"
  done
done
sent() { sed -nE 's/^zoptic-mpi: .* ([0-9]+) bytes sent.*/\1/p' <<<"$1"; }
out=$(mrun 2 train demo.ini --out demo-x2 2>&1) || fail "demo on 2 ranks failed: $out"
b_rec=$(sent "$out")
out=$(mrun 2 --exchange-outputs train demo.ini --out demo-o2 2>&1) \
  || fail "--exchange-outputs on 2 ranks failed: $out"
b_out=$(sent "$out")
same_run demo-ref demo-o2 "--exchange-outputs on 2 ranks"
same_run demo-ref demo-x2 "demo on 2 ranks (again)"
# the records path is taken: other bytes than the outputs path
[ -n "$b_rec" ] && [ -n "$b_out" ] && [ "$b_rec" != "$b_out" ] \
  || fail "bytes sent: records path $b_rec, outputs path $b_out: expected two different counts"
# the comparison can fail: another seed gives another theta
"$Z" train demo.ini --out seed2 --set zo.seed=2 >/dev/null 2>&1 || fail "demo zo.seed=2 failed"
same_ckpt demo-ref/ckpt.h5 seed2/ckpt.h5 >/dev/null && fail "the checkpoint comparison cannot fail"
# rank 0 alone writes: no stray run directories
[ "$(ls -d demo-* cnn-* | wc -l)" -eq 9 ] || fail "unexpected run directories: $(ls -d demo-* cnn-*)"

# ---- one chip driver per rank ({rank}), chips of one seed: bit-identical ----
for r in 0 1; do cp demo.ini chip-$r.ini; done
out=$(mrun 2 train demo.ini --out chips --set chip.driver="$CHIPD --config $T/chip-{rank}.ini --quiet" 2>&1) \
  || fail "one zoptic-chipd per rank failed: $out"
same_run demo-ref chips "one zoptic-chipd per rank (one seed)"
# --chip-per-rank: every rank evaluates its own base query; chips of one
# seed reduce to the same run bit for bit, chips of distinct seeds train
# (each finite difference on one chip) and give another theta
out=$(mrun 2 --chip-per-rank train demo.ini --out chips1 --set chip.driver="$CHIPD --config $T/chip-{rank}.ini --quiet" 2>&1) \
  || fail "--chip-per-rank, one seed: $out"
same_run demo-ref chips1 "--chip-per-rank, chips of one seed"
sed -i 's/^seed = 7$/seed = 8/' chip-1.ini
out=$(mrun 2 --chip-per-rank train demo.ini --out chips2 --set chip.driver="$CHIPD --config $T/chip-{rank}.ini --quiet" 2>&1) \
  || fail "--chip-per-rank, distinct seeds: $out"
grep -q '^final: test_metric=[0-9.]* ' <<<"$out" || fail "--chip-per-rank, distinct seeds: no final line: $out"
same_ckpt demo-ref/ckpt.h5 chips2/ckpt.h5 >/dev/null && fail "--chip-per-rank: chips of distinct seeds gave the one-chip theta"
# each rank started its own driver with its own config file
out=$(mrun 2 train demo.ini --out nochip --set chip.driver="$CHIPD --config $T/none-{rank}.ini --quiet" 2>&1) \
  && fail "a missing per-rank driver config did not fail"
grep -q "none-0.ini" <<<"$out" || fail "no message naming rank 0's driver config: $out"

# ---- a killed rank: bounded time, message naming it, checkpoint intact,
# resume with another R equals the uninterrupted run ----
"$Z" train cnn.ini --out long-ref --set train.budget=8000 >/dev/null 2>&1 || fail "long reference run failed"
mrun 2 train cnn.ini --out killed --set train.budget=8000 >/dev/null 2>killed.err &
job=$!
for _ in $(seq 300); do [ -e killed/ckpt.h5 ] && break; sleep 0.05; done
victim=$(rank_pid 1 "killed")
if [ -z "$victim" ]; then
  fail "no rank 1 process to kill (run already over?)"
  wait $job || true
else
  start=$SECONDS
  kill -9 "$victim"
  rc=0; wait $job || rc=$?
  [ $rc -ne 0 ] || fail "a killed rank: the job exited 0"
  [ $((SECONDS - start)) -le 25 ] || fail "a killed rank: the job took $((SECONDS - start)) s to stop"
  grep -q "rank 1" killed.err || fail "a killed rank: no message naming rank 1: $(cat killed.err)"
  "$Z" info killed/ckpt.h5 >/dev/null 2>&1 || fail "the last checkpoint does not load after a killed rank"
  out=$(mrun 3 train --resume killed 2>&1) || fail "resume on 3 ranks failed: $out"
  grep -q "resuming" <<<"$out" || fail "resume did not resume: $out"
  same_run long-ref killed "killed rank, resumed on 3 ranks"
fi

# chip.timeout_s and --mpi-timeout of the fault cases: short, longer under the
# sanitizer build (slower processes, slower driver handshakes)
TMO=3
case "$B" in *asan*) TMO=15 ;; esac

# ---- a rank that hangs (stopped) outside its driver: the others give up
# after --mpi-timeout and abort the job, naming the exchange ----
timeout -k 5 60 "${MPIRUN[@]}" -n 2 "$ZM" --mpi-timeout $TMO train cnn.ini --out stopped \
  --set train.budget=60000 >/dev/null 2>stopped.err &
job=$!
for _ in $(seq 300); do [ -e stopped/ckpt.h5 ] && break; sleep 0.05; done
victim=$(rank_pid 1 "stopped")
if [ -z "$victim" ]; then
  fail "no rank 1 process to stop"
  wait $job || true
else
  echo "$victim" >> "$T/driver-pids" # a stopped rank outlives the abort: cleanup kills it
  start=$SECONDS
  kill -STOP "$victim"
  rc=0; wait $job || rc=$?
  [ $rc -ne 0 ] || fail "a stopped rank: the job exited 0"
  [ $((SECONDS - start)) -le $((TMO + 20)) ] || fail "a stopped rank: the job took $((SECONDS - start)) s to stop"
  grep -q "got no answer from some of the 2 ranks within $TMO s" stopped.err \
    || fail "a stopped rank: no timeout message: $(cat stopped.err)"
  "$Z" info stopped/ckpt.h5 >/dev/null 2>&1 || fail "the last checkpoint does not load after a stopped rank"
fi

# ---- a chip driver of one rank hangs, or dies: every rank stops in bounded
# time with an error naming the rank; the checkpoint is intact; resume ----
cat > drv.sh <<EOF
#!/bin/sh
# rank \$1's driver; misbehaves (\$2: STOP = hang, KILL = die) on rank 1 while $T/fault exists
exec 3<&0 # (an asynchronous command's stdin would be /dev/null)
"$CHIPD" --config "$T/demo.ini" --quiet <&3 3<&- &
pid=\$!
echo \$pid >> "$T/driver-pids"
# after the run's first checkpoint
if [ "\$1" = 1 ] && [ -e "$T/fault" ]; then
  (i=0; while [ ! -e "$T/fault-\$2/ckpt.h5" ] && [ \$i -lt 1000 ]; do sleep 0.02; i=\$((i+1)); done
   kill -\$2 \$pid) &
fi
wait \$pid
EOF
chmod +x drv.sh
for mode in STOP KILL; do
  touch fault
  start=$SECONDS
  rc=0
  mrun 2 train demo.ini --out fault-$mode --set train.budget=6000 --set chip.timeout_s=$TMO --set chip.retries=0 \
    --set chip.driver="$T/drv.sh {rank} $mode" >/dev/null 2>fault.err || rc=$?
  [ $rc -eq 1 ] || fail "driver $mode on rank 1: exit $rc, expected 1: $(cat fault.err)"
  [ $((SECONDS - start)) -le $((TMO + 30)) ] || fail "driver $mode on rank 1: took $((SECONDS - start)) s"
  grep -q "rank 1 of 2: .*chip" fault.err || fail "driver $mode: no error naming rank 1 and its chip: $(cat fault.err)"
  [ "$(grep -c 'rank 1 of 2' fault.err)" -eq 1 ] || fail "driver $mode: the error is not printed once: $(cat fault.err)"
  "$Z" info fault-$mode/ckpt.h5 >/dev/null 2>&1 || fail "driver $mode: the checkpoint does not load"
  rm -f fault
done
out=$(mrun 1 train --resume fault-KILL 2>&1) || fail "resume after a driver died failed: $out"
"$Z" train demo.ini --out fault-ref --set train.budget=6000 >/dev/null 2>&1 || fail "fault-ref run failed"
same_run fault-ref fault-KILL "driver died on rank 1, resumed on 1 rank"

[ $fails -eq 0 ] || { echo "$fails failure(s)" >&2; exit 1; }
echo "mpi_test: all passed"
