#!/usr/bin/env bash
# `make valgrind`: builds zoptic without -march=native in build-valgrind/
# (valgrind stops on AVX-512 instructions) and runs, each under
# valgrind --error-exitcode=1 (memcheck: invalid reads/writes, uses of
# uninitialised values, definite leaks):
#   1. a train of the toy task killed after its first checkpoint,
#   2. the resume of that run to its end,
#   3. an eval of its checkpoint with --outputs,
#   4. a driver session: an MZI classifier trained through zoptic-chipd
#      --config (both processes under valgrind; chip.timeout_s = 900: the
#      driver builds its model under valgrind before its handshake, which
#      took longer than the default 30 s), then zoptic info.
# OpenBLAS is pinned to its Haswell (AVX2) kernels and one thread for the
# same reason.  Exits non-zero on the first failure; logs are kept in
# build-valgrind/logs/.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
OUT=build-valgrind
command -v valgrind >/dev/null || {
  if [ "$(id -u)" -eq 0 ]; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends valgrind >&2
  else
    echo "valgrind.sh: valgrind is needed: apt-get install valgrind" >&2; exit 1
  fi
}
CI= make --no-print-directory -s BUILD=$OUT OPT="-O1" all >&2
Z=$ROOT/$OUT/zoptic
CHIPD=$ROOT/$OUT/zoptic-chipd
export OPENBLAS_CORETYPE=Haswell OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1
LOGS=$ROOT/$OUT/logs
rm -rf "$LOGS" "$OUT/runs"; mkdir -p "$LOGS" "$OUT/runs"
VG=(valgrind --error-exitcode=1 --leak-check=full --errors-for-leak-kinds=definite
    --show-leak-kinds=definite --track-origins=yes --trace-children=yes --quiet)
step() { # NAME CMD...: runs CMD under valgrind, log in $LOGS/NAME.log
  local name=$1; shift
  echo "valgrind.sh: $name" >&2
  if ! "${VG[@]}" --log-file="$LOGS/$name.%p.vg" "$@" > "$LOGS/$name.log" 2>&1; then
    echo "valgrind.sh: $name FAILED" >&2; tail -n 30 "$LOGS/$name.log" >&2
    cat "$LOGS/$name".*.vg >&2 2>/dev/null || true
    exit 1
  fi
  if grep -l "ERROR SUMMARY: [1-9]" "$LOGS/$name".*.vg 2>/dev/null; then
    echo "valgrind.sh: $name: errors in a child process" >&2; exit 1
  fi
}
cd "$OUT/runs"
"$Z" config "$ROOT/experiments/toy.ini" --set train.budget=3000 --set train.checkpoint_every=50 \
  > toy.ini
# 1. train, killed once its first checkpoint is on disk (a real resume follows)
echo "valgrind.sh: train (killed after its first checkpoint)" >&2
"${VG[@]}" --log-file="$LOGS/train.%p.vg" "$Z" train toy.ini --out toy > "$LOGS/train.log" 2>&1 &
pid=$!
for _ in $(seq 1 3000); do [ -e toy/ckpt.h5 ] && break; sleep 0.1; done
[ -e toy/ckpt.h5 ] || { echo "valgrind.sh: no checkpoint after 300 s" >&2; kill -9 $pid; exit 1; }
if kill -0 $pid 2>/dev/null; then
  sleep 0.5; kill -9 $pid 2>/dev/null || true; wait $pid 2>/dev/null || true
else
  wait $pid || { cat "$LOGS"/train.*.vg >&2; exit 1; } # finished before the kill: fine
fi
# 2. resume, 3. eval
step resume "$Z" train --resume toy
grep -q "final: test_metric=" "$LOGS/resume.log" || { cat "$LOGS/resume.log" >&2; exit 1; }
step eval "$Z" eval toy/ckpt.h5 --outputs toy-outputs.csv
# 4. a driver session
"$Z" config "$ROOT/experiments/mzi-classifier-digits.ini" --set model.K=10 --set zo.Q=2 \
  --set zo.method=zo-i --set train.budget=60 --set train.eval_every=10 --set chip.timeout_s=900 \
  --set data.path="$ROOT/datasets/digits/digits.csv.gz" > mzi.ini
[ -e "$ROOT/datasets/digits/digits.csv.gz" ] || bash "$ROOT/datasets/fetch.sh" digits >&2
step driver "$Z" train mzi.ini --out mzi --set chip.driver="$CHIPD --config $PWD/mzi.ini --quiet"
step info "$Z" info mzi/ckpt.h5
echo "valgrind.sh: train, resume, eval and a driver session ran clean under valgrind" >&2
