#!/usr/bin/env bash
# data.test_path (task idx): a fixed test IDX pair, such as Fashion-MNIST's
# official t10k files, replaces the random split of data.path.  Synthetic
# IDX files written here; no data set package or network needed.
set -euo pipefail
. "$(cd "$(dirname "$0")" && pwd)/common/script.sh"  # fail, expect
B="$(cd "${BUILD:-build}" && pwd)"
Z="$B/zoptic"
T="$(mktemp -d "${TMPDIR:-/tmp}/zoptic-idxtest-XXXXXX")"
trap 'rm -rf "$T"' EXIT
cd "$T"
# write NAME N SIDE CLASS: N images SIDE x SIDE and labels; CLASS < 0: random
# classes 0..2 with a class pattern, else every sample is CLASS with one image
write() {
  perl -e 'my ($nm, $n, $s, $k) = @ARGV; srand(7); my ($img, $lab) = ("", "");
    for my $i (1 .. $n) { my $c = $k < 0 ? int(rand(3)) : $k;
      for my $p (0 .. $s * $s - 1) { $img .= chr($p % 3 == $c % 3 ? 200 : 20) } $lab .= chr($c) }
    open(my $f, ">", "$nm-images-idx3-ubyte") or die; binmode $f; print $f pack("NNNN", 0x803, $n, $s, $s), $img; close $f;
    open($f, ">", "$nm-labels-idx1-ubyte") or die; binmode $f; print $f pack("NN", 0x801, $n), $lab; close $f' "$@"
}
write tr 60 4 -1
write one 1 4 1     # one sample: the accuracy can only be 0 or 1
write many 7 4 2    # seven identical samples
write big 5 5 1     # 5x5 images: the wrong size
write bad 5 4 9     # label 9, but the training labels have 3 classes
cat > a.ini <<EOF
[data]
task = idx
path = $T/tr-images-idx3-ubyte
test_path = $T/one-images-idx3-ubyte
batch = 10
[model]
kind = mixer
patch = 2
width = 4
blocks = 1
token_hidden = 4
[zo]
method = zo-i
[train]
budget = 400
EOF
final() { sed -nE 's/^final: test_metric=([^ ]+) .*/\1/p' <<<"$1"; }
out=$("$Z" train a.ini --out r1 2>&1) || fail "train with data.test_path failed: $out"
m=$(final "$out")
[ "$m" = 0 ] || [ "$m" = 1 ] || fail "one test sample: accuracy $m is neither 0 nor 1"
# n_test keeps the first n_test samples of the fixed test set; labels derived
# from the images name, or given explicitly
out=$("$Z" train a.ini --out r3 --set data.test_path="$T/many-images-idx3-ubyte" --set data.n_test=3 2>&1) \
  || fail "n_test with test_path: $out"
m=$(final "$out"); [ "$m" = 0 ] || [ "$m" = 1 ] || fail "identical test samples: accuracy $m is neither 0 nor 1"
# explicit test labels
expect 0 "final:" "$Z" train a.ini --out r4 --set data.test_labels="$T/one-labels-idx1-ubyte"
# relative paths in a config file resolve against the file's folder
mkdir -p sub && sed -e "s|$T/tr-|../tr-|; s|$T/one-|../one-|" a.ini > sub/rel.ini
grep -q "test_path = ../one-images" sub/rel.ini || fail "sub/rel.ini was not written as intended"
(cd / && "$Z" train "$T/sub/rel.ini" --out "$T/r5" >/dev/null 2>&1) || fail "relative test_path from another folder failed"
grep -q "^test_path = $T/one-images-idx3-ubyte" r5/config.ini || fail "test_path not recorded absolute: $(grep test_path r5/config.ini)"
# refusals name the key and the file
expect 3 "data.test_path = $T/absent-images-idx3-ubyte: no such file" "$Z" train a.ini --out e1 --set data.test_path="$T/absent-images-idx3-ubyte"
expect 3 "data.test_labels = $T/nolabels" "$Z" train a.ini --out e2 --set data.test_labels="$T/nolabels"
expect 2 "data.test_path = $T/big-images-idx3-ubyte: 25 values per image, data.path has 16" "$Z" train a.ini --out e3 --set data.test_path="$T/big-images-idx3-ubyte"
expect 2 "cannot derive the labels file" "$Z" train a.ini --out e4 --set data.test_path="$T/tr-labels-idx1-ubyte"
out=$("$Z" train a.ini --out e5 --set data.test_path="$T/bad-images-idx3-ubyte" 2>&1) && fail "a test label 9 with 3 classes was accepted"
grep -q "9" <<<"$out" || fail "the label refusal does not name the label: $out"
[ "$fails" -eq 0 ] || exit 1
echo "idx_test_path_test: ok"
