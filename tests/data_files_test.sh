#!/usr/bin/env bash
# Script tests of bad data files through `zoptic train` (issue #20 items 3a,
# 3b, 3e and the data part of 5): every malformed data file exits 3 with a
# message naming the file (and line:column for CSV); nothing is trained on
# a silently wrong reading.  All files are written here.
set -euo pipefail
. "$(cd "$(dirname "$0")" && pwd)/common/script.sh"  # fail, expect
B="$(cd "${BUILD:-build}" && pwd)"
Z="$B/zoptic"
T="$(mktemp -d "${TMPDIR:-/tmp}/zoptic-data-XXXXXX")"
trap 'rm -rf "$T"' EXIT
cd "$T"

# ---- CSV: 40 rows of 4 features and a label 0/1 ----
awk 'BEGIN { srand(7); for (i = 0; i < 40; i++) { c = i % 2;
  printf "%.3f,%.3f,%.3f,%.3f,%d\n", c + rand(), rand(), -c + rand(), rand(), c } }' > good.csv
cat > csv.ini <<EOF
[data]
task = csv
path = $T/good.csv
n_test = 10
batch = 10
[model]
kind = cnn
[train]
budget = 10
EOF
# one field replaced on line 7, column 3
bad() { awk -F, -v OFS=, -v v="$1" 'NR == 7 { $3 = v } { print }' good.csv > "$2"; }
bad 1e39 big.csv
expect 3 "big.csv:7:3: '1e39' overflows a 32-bit float" "$Z" train csv.ini --out r1 --set data.path="$T/big.csv"
bad 0x10 hex.csv
expect 3 "hex.csv:7:3: '0x10' is not a number" "$Z" train csv.ini --out r2 --set data.path="$T/hex.csv"
bad inf inf.csv
expect 3 "inf.csv:7:3: 'inf' is not a number" "$Z" train csv.ini --out r3 --set data.path="$T/inf.csv"
bad nan nan.csv
expect 3 "nan.csv:7:3: 'nan' is not a number" "$Z" train csv.ini --out r4 --set data.path="$T/nan.csv"
# a label outside the declared classes
awk -F, -v OFS=, 'NR == 9 { $5 = 7 } { print }' good.csv > lab.csv
expect 3 "lab.csv:9:5: label '7' is not a class index in [0, 2)" \
  "$Z" train csv.ini --out r5 --set data.path="$T/lab.csv" --set data.n_classes=2
# a label column of measurements
expect 3 "good.csv:1:1: label" "$Z" train csv.ini --out r6 --set data.label_column=0
for r in r1 r2 r3 r4 r5 r6; do [ ! -e "$r/ckpt.h5" ] || fail "$r: a checkpoint was written"; done

# ---- IDX: 20 images of 2x2 and their labels ----
perl -e 'my $n = 20; my ($img, $lab) = ("", "");
  for my $i (0 .. $n - 1) { $img .= chr(10 * ($i % 10)) x 4; $lab .= chr($i % 10); }
  open(my $f, ">", "i-images-idx3-ubyte") or die; binmode $f; print $f pack("NNNN", 0x803, $n, 2, 2), $img; close $f;
  substr($lab, 13, 1) = chr(200);
  open($f, ">", "i-labels-idx1-ubyte") or die; binmode $f; print $f pack("NN", 0x801, $n), $lab; close $f;
  open($f, ">", "huge-images-idx3-ubyte") or die; binmode $f; print $f pack("NNNN", 0x803, 0xffffffff, 0xffffffff, 0xffffffff); close $f;'
cp i-labels-idx1-ubyte huge-labels-idx1-ubyte
cat > idx.ini <<EOF
[data]
task = idx
path = $T/i-images-idx3-ubyte
n_test = 5
batch = 5
[model]
kind = cnn
kernel = 1
[train]
budget = 10
EOF
# a label byte of 200 among the digits 0..9 with 10 declared classes
expect 3 "i-labels-idx1-ubyte: record 13: label 200 is not a class index in [0, 10)" \
  "$Z" train idx.ini --out i1 --set data.n_classes=10
# ... and with the classes inferred: no 201-class model (#20 3a)
expect 3 "i-labels-idx1-ubyte: the labels are not the classes 0..200: only 11 of those 201 values occur" \
  "$Z" train idx.ini --out i2
[ ! -e i2/ckpt.h5 ] || fail "i2: a model was trained on 201 classes"
# a header whose dimensions overflow
expect 3 "huge-images-idx3-ubyte: IDX dimensions overflow" \
  "$Z" train idx.ini --out i3 --set data.path="$T/huge-images-idx3-ubyte" --set data.n_classes=10

if [ $fails -ne 0 ]; then echo "$fails failure(s)"; exit 1; fi
echo "data files: all checks passed"
