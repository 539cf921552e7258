#!/usr/bin/env bash
# datasets/fetch.sh without network: argument checks, --from with files
# that fail verification, and a --from copy that succeeds.  Files land in a
# temporary directory (ZPT_DATASETS_DIR), never in datasets/.
set -u
cd "$(dirname "$0")/.."
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export ZPT_DATASETS_DIR="$tmp/out"
mkdir -p "$ZPT_DATASETS_DIR" "$tmp/src"
fail() { echo "FAIL: $*"; exit 1; }

# expect_fail "grep pattern" args...: fetch.sh must fail and say the pattern
expect_fail() {
  local pat=$1; shift
  local out; out=$(bash datasets/fetch.sh "$@" 2>&1) && fail "fetch.sh $* succeeded"
  grep -q -- "$pat" <<<"$out" || fail "fetch.sh $*: message lacks '$pat': $out"
}

expect_fail "unknown data set 'nope'" nope
expect_fail "not a directory" mnist --from "$tmp/absent"
expect_fail "no mnist files found" mnist --from "$tmp/src"
# a file with the right name but the wrong content is refused
printf 'not mnist' | gzip > "$tmp/src/t10k-labels-idx1-ubyte.gz"
expect_fail "checksum" mnist --from "$tmp/src"
[ -e "$ZPT_DATASETS_DIR/mnist/t10k-labels-idx1-ubyte.gz" ] && fail "a bad file was copied"
printf '1,2\n' | gzip > "$tmp/src/digits.csv.gz"
expect_fail "digits.csv.gz" digits --from "$tmp/src"
head -c 100 /dev/zero > "$tmp/src/test_batch.bin"
expect_fail "expected 30730000" cifar10 --from "$tmp/src"
# a correctly sized CIFAR-10 batch is copied (sizes checked, no published checksum)
head -c 30730000 /dev/zero > "$tmp/src/test_batch.bin"
# ... and, being one of the six batch files, reported incomplete with exit 3
rc=0; out=$(bash datasets/fetch.sh cifar10 --from "$tmp/src" 2>&1) || rc=$?
[ $rc -eq 3 ] || fail "cifar10 --from with 1 of 6 batch files exited $rc, expected 3: $out"
grep -q "INCOMPLETE: only 1 of the 6" <<<"$out" || fail "cifar10 partial: message: $out"
[ "$(stat -c %s "$ZPT_DATASETS_DIR/cifar10/test_batch.bin")" -eq 30730000 ] || fail "test_batch.bin not copied"
grep -q "no checksum is published" <<<"$out" || fail "cifar10 --from does not say the files are unverified"
# fashion-mnist takes Debian's dataset-fashion-mnist files (re-compressed
# .gz, verified by the md5 of their content); a fake package is refused
mkdir -p "$tmp/fakedeb"
for f in train-images-idx3-ubyte train-labels-idx1-ubyte t10k-images-idx3-ubyte t10k-labels-idx1-ubyte; do
  printf 'not fashion' | gzip > "$tmp/fakedeb/$f.gz"
done
ZPT_FASHION_DEB_DIR="$tmp/fakedeb" expect_fail "checksum" fashion-mnist
[ -e "$ZPT_DATASETS_DIR/fashion-mnist/train-images-idx3-ubyte.gz" ] && fail "a fake Fashion-MNIST file was copied"
deb=/usr/share/datasets/fashion-mnist
if [ -f "$deb/t10k-labels-idx1-ubyte.gz" ]; then
  out=$(bash datasets/fetch.sh fashion-mnist 2>&1) || fail "fashion-mnist from $deb: $out"
  [ "$(grep -c "matches the known checksum" <<<"$out")" -eq 4 ] || fail "fashion-mnist: not 4 verified files: $out"
  cmp -s "$deb/t10k-labels-idx1-ubyte.gz" "$ZPT_DATASETS_DIR/fashion-mnist/t10k-labels-idx1-ubyte.gz" \
    || fail "fashion-mnist: t10k labels not copied"
else
  echo "fetch_test: $deb absent (dataset-fashion-mnist not installed): its copy is not tested"
fi
echo "fetch_test: ok"
