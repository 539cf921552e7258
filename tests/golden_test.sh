#!/usr/bin/env bash
# Golden test: pins the final theta, bit for bit, of a short run of every task
# config in experiments/ that can run without downloaded data, plus the demo.
# Written before the redesign of issue 15 so that refactors provably keep
# behaviour: a change of arithmetic on purpose must update
# tests/golden/theta.sha256 in the same commit and say why.
#
# Each run uses the config unchanged except tiny budgets (--set), one thread,
# and small generated data sets.  theta is read from the checkpoint's /theta
# by tests/golden/theta_bits.c (plain HDF5, independent of the code checked)
# and hashed.  Configs whose data is absent are skipped with the reason.
#
#   GOLDEN_UPDATE=1 bash tests/golden_test.sh   rewrites tests/golden/theta.sha256
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
B="$(cd "${BUILD:-build}" && pwd)"
Z="$B/zoptic"
GOLD="$ROOT/tests/golden/theta.sha256"
T="$(mktemp -d "${TMPDIR:-/tmp}/zoptic-golden-XXXXXX")"
trap 'rm -rf "$T"' EXIT
E="$ROOT/experiments"
fails=0
fail() { echo "FAIL: $*" >&2; fails=$((fails + 1)); }
# shellcheck source=tests/common/blas_pin.sh
source "$ROOT/tests/common/blas_pin.sh"
# (a CPU without AVX2/FMA has its own fingerprint below: no recorded values)
blas_pin_haswell || true

# the reader is built without the sanitizers of the build it checks
${CC:-cc} -O1 -o "$T/theta_bits" "$ROOT/tests/golden/theta_bits.c" \
  $(pkg-config --cflags --libs hdf5) || { echo "FAIL: cannot build theta_bits" >&2; exit 1; }

# data: the UCI digits from the repository's datasets/ or Debian's python3-sklearn
DIGITS=""
for f in "$ROOT/datasets/digits/digits.csv.gz" \
         /usr/lib/python3/dist-packages/sklearn/datasets/data/digits.csv.gz; do
  if [ -r "$f" ] && [ "$(gzip -dc "$f" | sha256sum | cut -d' ' -f1)" = \
       "$(cut -d' ' -f1 "$ROOT/datasets/digits.sha256")" ]; then DIGITS=$f; break; fi
done
# Fashion-MNIST from Debian's dataset-fashion-mnist: stands in for the
# MNIST-format files of the IDX and mnist10k configs (same format and shape)
FM=/usr/share/datasets/fashion-mnist
[ -r "$FM/train-images-idx3-ubyte.gz" ] && [ -r "$FM/t10k-images-idx3-ubyte.gz" ] || FM=""

COMMON=(--set train.threads=1 --set train.checkpoint_every=0 --set output.progress=off)
declare -A got
run() { # NAME CONFIG SET...
  local name=$1 cfg=$2; shift 2
  local out
  if ! out=$("$Z" train "$E/$cfg" --out "$T/$name" "${COMMON[@]}" "$@" 2>&1); then
    fail "$name: zoptic train $cfg failed: $(tail -n 3 <<<"$out")"; return
  fi
  local q
  q=$(sed -nE 's/^final: .*queries=([0-9]+).*/\1/p' <<<"$out")
  [ "${q:-0}" -gt 0 ] || { fail "$name: trained on no query (budget too small?)"; return; }
  local bits
  if ! bits=$("$T/theta_bits" "$T/$name/ckpt.h5"); then fail "$name: no theta"; return; fi
  got[$name]=$(sha256sum <<<"$bits" | cut -d' ' -f1)
  echo "$name: $(head -n 1 <<<"$bits") queries $q sha256 ${got[$name]}"
}
skip() { echo "SKIP $1: $2"; }

run toy toy.ini --set train.budget=3000
run mzi-equalizer-isi mzi-equalizer-isi.ini --set train.budget=4000 \
  --set data.n_train=400 --set data.n_test=100 --set train.eval_every=50
run mzi-equalizer-imdd mzi-equalizer-imdd.ini --set train.budget=4000 \
  --set data.n_train=400 --set data.n_test=100 --set train.eval_every=50
run mzi-rnn-copying mzi-rnn-copying.ini --set train.budget=1500 \
  --set data.n_train=100 --set data.n_test=20 --set train.eval_every=50
if [ -n "$DIGITS" ]; then
  run demo demo.ini --set data.path="$DIGITS" --set train.budget=1500 --set train.eval_every=50
  run demo-2threads demo.ini --set data.path="$DIGITS" --set train.budget=1500 \
    --set train.eval_every=50 --set train.threads=2
  run mzi-classifier-digits mzi-classifier-digits.ini --set data.path="$DIGITS" \
    --set train.budget=1500 --set zo.t_ud=10 --set train.eval_every=50
else
  for n in demo demo-2threads mzi-classifier-digits; do
    skip $n "no digits: neither datasets/digits/digits.csv.gz nor Debian's python3-sklearn"
  done
fi
if [ -n "$FM" ]; then
  run paper-cnn-fashion-mnist paper-cnn-fashion-mnist.ini \
    --set data.path="$FM/t10k-images-idx3-ubyte.gz" --set data.labels="$FM/t10k-labels-idx1-ubyte.gz" \
    --set data.test_path="$FM/t10k-images-idx3-ubyte.gz" --set data.test_labels="$FM/t10k-labels-idx1-ubyte.gz" \
    --set data.n_train=300 --set data.n_test=50 --set train.budget=600 --set train.eval_every=50
  run paper-mzi-classifier-mnist-k16 paper-mzi-classifier-mnist-k16.ini \
    --set data.path="$FM/t10k-images-idx3-ubyte.gz" --set data.labels="$FM/t10k-labels-idx1-ubyte.gz" \
    --set data.n_train=300 --set data.n_test=50 --set train.budget=600 --set train.eval_every=50
  run cnn-mnist10k cnn-mnist10k.ini --set data.path="$FM" --set train.budget=600 \
    --set data.n_train=300 --set train.eval_every=50 --set train.eval_batch=50
  run mixer-mnist10k mixer-mnist10k.ini --set data.path="$FM" --set train.budget=600 \
    --set data.n_train=300 --set train.eval_every=50 --set train.eval_batch=50
  run mzi-classifier-mnist10k mzi-classifier-mnist10k.ini --set data.path="$FM" \
    --set train.budget=600 --set data.n_train=300 --set train.eval_every=50 --set train.eval_batch=50
  for k in 32 64; do
    run paper-mzi-classifier-mnist-k$k paper-mzi-classifier-mnist-k$k.ini \
      --set data.path="$FM/t10k-images-idx3-ubyte.gz" --set data.labels="$FM/t10k-labels-idx1-ubyte.gz" \
      --set data.n_train=200 --set data.n_test=20 --set train.budget=1000 --set train.eval_every=50
  done
else
  for n in paper-cnn-fashion-mnist paper-mzi-classifier-mnist-k16 paper-mzi-classifier-mnist-k32 \
           paper-mzi-classifier-mnist-k64 cnn-mnist10k mixer-mnist10k mzi-classifier-mnist10k; do
    skip $n "no Fashion-MNIST in /usr/share/datasets (Debian's dataset-fashion-mnist)"
  done
fi
skip paper-cnn-mnist "the same config as paper-cnn-fashion-mnist but for the data file"
for c in paper-mixer-cifar10 paper-mixer-large-cifar10; do
  skip $c "needs CIFAR-10 (datasets/fetch.sh cifar10, network)"
done

# threads over the variations of a batch must not change a bit
if [ -n "${got[demo]+x}" ] && [ "${got[demo]}" != "${got[demo-2threads]:-}" ]; then
  fail "demo: theta differs between 1 and 2 threads"
fi

# The bits depend on the machine (OpenBLAS picks its kernels by CPU, the build
# uses -march=native) and on the build's flags (build-asan is -O1): golden
# values are kept per fingerprint of CPU, compiler and build directory.
# Only the normal build's are recorded: under build-asan the runs are checked
# (they train, 1 and 2 threads agree) and the comparison is skipped.
FP=$( { uname -m; grep -m1 '^model name' /proc/cpuinfo; grep -m1 '^flags' /proc/cpuinfo
        ${CC:-cc} --version | head -n 1; basename "$B"; } | sha256sum | cut -c1-16)
if [ -n "${GOLDEN_UPDATE:-}" ]; then
  { grep -v "^$FP " "$GOLD" 2>/dev/null || echo "# fingerprint name sha256-of-theta_bits-output (tests/golden_test.sh; GOLDEN_UPDATE=1 rewrites a fingerprint's lines)"
    for n in $(printf '%s\n' "${!got[@]}" | sort); do echo "$FP $n ${got[$n]}"; done; } > "$T/gold"
  cp "$T/gold" "$GOLD"
  echo "wrote $GOLD for fingerprint $FP ($(basename "$B"))"
elif ! grep -q "^$FP " "$GOLD"; then
  echo "SKIP comparison: no golden values for this machine/compiler/build (fingerprint $FP," \
       "$(basename "$B")); record them with GOLDEN_UPDATE=1 on the code before a refactor"
else
  while read -r f n h; do
    [ "$f" = "$FP" ] || continue
    if [ -z "${got[$n]+x}" ]; then continue; fi
    [ "${got[$n]}" = "$h" ] || fail "$n: theta changed (sha256 ${got[$n]}, golden $h)"
    unset "got[$n]"
  done < "$GOLD"
  for n in "${!got[@]}"; do fail "$n: no golden value for fingerprint $FP in $GOLD"; done
fi
[ "$fails" -eq 0 ] || { echo "$fails failure(s)" >&2; exit 1; }
echo "golden: ok"
