#!/usr/bin/env bash
# Fetches a data set into datasets/NAME/ and verifies its checksums.
#
#   datasets/fetch.sh NAME [--from DIR]
#
# NAME: digits         UCI handwritten digits, extracted from Debian's python3-sklearn
#       mnist          MNIST (LeCun, Cortes, Burges)
#       fashion-mnist  Fashion-MNIST (Zalando Research): from Debian's
#                      dataset-fashion-mnist if installed (or installable), else downloaded
#       cifar10        CIFAR-10, binary version (Krizhevsky)
# --from DIR  take already-downloaded files from DIR instead of the network
#             (only the files present there are taken; each is verified).
#
# Downloads use a short connect timeout, so without internet the script
# fails at once and says so.  Checksums are the ones the sources publish
# (md5 of the distributed files; see datasets/README.md).
# Exit status: 0 the whole set is in place and verified; 1 an error; 2 a
# usage error; 3 only part of the set was found (--from): the files that
# were found are verified and kept, the missing ones are named.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
put() { [ "$1" -ef "$2" ] || install -m 644 "$1" "$2"; }
die() { echo "fetch.sh: $*" >&2; exit 1; }
say() { echo "fetch.sh: $*" >&2; }

usage() { sed -n '2,19p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }

[ $# -ge 1 ] || usage
name=$1; shift
from=""
while [ $# -gt 0 ]; do
  case "$1" in
    --from) [ $# -ge 2 ] || usage; from=$2; shift 2 ;;
    -h|--help) usage ;;
    *) die "unknown argument '$1'" ;;
  esac
done
if [ -n "$from" ]; then
  [ -d "$from" ] || die "--from $from: not a directory"
  from=$(cd "$from" && pwd)
fi

# ZPT_DATASETS_DIR overrides where the files land (the tests use it).
dest="${ZPT_DATASETS_DIR:-$here}/$name"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"; rmdir "$dest" 2>/dev/null || true' EXIT

md5_of() { md5sum "$1" | cut -d' ' -f1; }
md5_gunzip() { gzip -dc "$1" | md5sum | cut -d' ' -f1; }

# download URL... OUT: tries each URL in turn.
download() {
  local out=${!#} n=$(($# - 1)) i url
  for ((i = 1; i <= n; i++)); do
    url=${!i}
    say "downloading $url"
    if command -v curl >/dev/null 2>&1; then
      curl -fL --connect-timeout 5 -sS -o "$out" "$url" && return 0
    elif command -v wget >/dev/null 2>&1; then
      wget -q --connect-timeout=5 --tries=1 -O "$out" "$url" && return 0
    else
      die "neither curl nor wget is installed"
    fi
    say "could not download $url"
  done
  return 1
}

# ---- IDX sets (mnist, fashion-mnist) ---------------------------------------
IDX_FILES=(train-images-idx3-ubyte train-labels-idx1-ubyte t10k-images-idx3-ubyte t10k-labels-idx1-ubyte)
declare -A GZ_MD5 RAW_MD5
# md5 of the published .gz files
GZ_MD5[mnist/train-images-idx3-ubyte]=f68b3c2dcbeaaa9fbdd348bbdeb94873
GZ_MD5[mnist/train-labels-idx1-ubyte]=d53e105ee54ea40749a09fcbcd1e9432
GZ_MD5[mnist/t10k-images-idx3-ubyte]=9fb629c4189551a2d022fa330f9573f3
GZ_MD5[mnist/t10k-labels-idx1-ubyte]=ec29112dd5afa0611ce80d1b7f02629c
GZ_MD5[fashion-mnist/train-images-idx3-ubyte]=8d4fb7e6c68d591d4c3dfef9ec88bf0d
GZ_MD5[fashion-mnist/train-labels-idx1-ubyte]=25c81989df183df01b3e8a0aad5dffbe
GZ_MD5[fashion-mnist/t10k-images-idx3-ubyte]=bef4ecab320f06d8554ea6380940ec79
GZ_MD5[fashion-mnist/t10k-labels-idx1-ubyte]=bb300cfdad3c16e7a12a480ee83cd310
# md5 of the decompressed bytes, where known (a re-compressed copy has a
# different .gz checksum but the same content)
RAW_MD5[mnist/t10k-images-idx3-ubyte]=2646ac647ad5339dbf082846283269ea
RAW_MD5[mnist/t10k-labels-idx1-ubyte]=27ae3e4e09519cfbb04c329615203637
# Fashion-MNIST's decompressed files (the checksums dataset loaders list next
# to Zalando's .gz ones; Debian's dataset-fashion-mnist re-compressed the .gz)
RAW_MD5[fashion-mnist/train-images-idx3-ubyte]=f4a8712d7a061bf5bd6d2ca38dc4d50a
RAW_MD5[fashion-mnist/train-labels-idx1-ubyte]=9018921c3c673c538a1fc5bad174d6f9
RAW_MD5[fashion-mnist/t10k-images-idx3-ubyte]=8181f5470baa50b63fa0f6fddb340f0a
RAW_MD5[fashion-mnist/t10k-labels-idx1-ubyte]=15d484375f8d13e6eb1aabb0c3f46965

# verify_idx SET FILE PATH: 0 if PATH (gz or raw) matches a known checksum.
verify_idx() {
  local key="$1/$2" f=$3 got raw
  if gzip -t "$f" 2>/dev/null; then
    got=$(md5_of "$f")
    if [ "$got" = "${GZ_MD5[$key]}" ]; then say "$2.gz: md5 $got matches the published checksum"; return 0; fi
    raw=$(md5_gunzip "$f")
  else
    raw=$(md5_of "$f")
  fi
  if [ -n "${RAW_MD5[$key]:-}" ] && [ "$raw" = "${RAW_MD5[$key]}" ]; then
    say "$2: md5 of the decompressed bytes $raw matches the known checksum"; return 0
  fi
  say "$2: checksum mismatch (file md5 $(md5_of "$f"), content md5 $raw)"
  return 1
}

fetch_idx() {
  local set=$1; shift
  local urls=("$@") f src got=0
  mkdir -p "$dest"
  for f in "${IDX_FILES[@]}"; do
    if [ -n "$from" ]; then
      if [ -f "$from/$f.gz" ]; then src="$from/$f.gz"; out="$dest/$f.gz"
      elif [ -f "$from/$f" ]; then src="$from/$f"; out="$dest/$f"
      else say "$f: not in $from, skipped"; continue; fi
      verify_idx "$set" "$f" "$src" || die "$src: checksum does not match $set's $f"
      put "$src" "$out"
    else
      local list=() u
      for u in "${urls[@]}"; do list+=("$u$f.gz"); done
      download "${list[@]}" "$tmp/$f.gz" ||
        die "cannot download $f.gz (no internet here?). Copy the files from a machine that has it and use --from DIR."
      verify_idx "$set" "$f" "$tmp/$f.gz" || die "$f.gz: checksum mismatch, file discarded"
      mv "$tmp/$f.gz" "$dest/$f.gz"
    fi
    got=$((got + 1))
  done
  [ $got -gt 0 ] || die "no $set files found in $from (expected e.g. t10k-images-idx3-ubyte.gz)"
  say "$set: $got of ${#IDX_FILES[@]} files in $dest"
  if [ $got -ne ${#IDX_FILES[@]} ]; then
    say "$set: INCOMPLETE: only $got of the ${#IDX_FILES[@]} files (the t10k pair alone serves data.task = mnist10k)"
    exit 3
  fi
}

# ---- fashion-mnist: Debian's dataset-fashion-mnist first ----------------------
# ZPT_FASHION_DEB_DIR overrides where the package's files are looked for (tests).
FASHION_DEB_DIR=${ZPT_FASHION_DEB_DIR:-/usr/share/datasets/fashion-mnist}
fetch_fashion() {
  if [ -z "$from" ]; then
    if [ ! -f "$FASHION_DEB_DIR/train-images-idx3-ubyte.gz" ] && [ -z "${ZPT_FASHION_DEB_DIR:-}" ] &&
       command -v apt-get >/dev/null 2>&1; then
      if [ "$(id -u)" -eq 0 ]; then
        say "apt-get install dataset-fashion-mnist"
        apt-get install -y -q dataset-fashion-mnist >/dev/null 2>"$tmp/apt.err" ||
          say "apt-get install dataset-fashion-mnist failed: $(tail -1 "$tmp/apt.err")"
      else
        say "Debian's dataset-fashion-mnist is not installed (as root: apt-get install dataset-fashion-mnist)"
      fi
    fi
    if [ -f "$FASHION_DEB_DIR/train-images-idx3-ubyte.gz" ]; then
      say "using Debian's dataset-fashion-mnist in $FASHION_DEB_DIR (re-compressed: checked by the md5 of the content)"
      from=$FASHION_DEB_DIR
      fetch_idx fashion-mnist
      local f
      for f in "${IDX_FILES[@]}"; do
        [ -f "$dest/$f.gz" ] || die "$FASHION_DEB_DIR lacks $f.gz: the package is incomplete"
      done
      return
    fi
    say "no Debian package files in $FASHION_DEB_DIR: downloading"
  fi
  fetch_idx fashion-mnist http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/ \
    https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/data/fashion/
}

# ---- digits ------------------------------------------------------------------
DIGITS_SHA256=$(sed -n 's/^\([0-9a-f]\{64\}\) .*digits.csv$/\1/p' "$here/digits.sha256" 2>/dev/null || true)

verify_digits() {
  gzip -t "$1" 2>/dev/null || { say "$1: not a gzip file"; return 1; }
  local got; got=$(gzip -dc "$1" | sha256sum | cut -d" " -f1)
  if [ -n "$DIGITS_SHA256" ] && [ "$got" != "$DIGITS_SHA256" ]; then
    say "digits.csv.gz: sha256 of the content $got, expected $DIGITS_SHA256"; return 1
  fi
  local rows cols; gzip -dc "$1" > "$tmp/digits.csv"
  rows=$(wc -l < "$tmp/digits.csv"); cols=$(awk -F, "NR == 1 { print NF }" "$tmp/digits.csv")
  if [ "$rows" -ne 1797 ] || [ "$cols" -ne 65 ]; then
    say "digits.csv.gz: $rows rows of $cols columns, expected 1797 of 65"; return 1
  fi
  say "digits.csv.gz: 1797 rows of 65 columns, content sha256 $got verified"
}

fetch_digits() {
  mkdir -p "$dest"
  local deb="" pkg member
  if [ -n "$from" ]; then
    if [ -f "$from/digits.csv.gz" ]; then
      verify_digits "$from/digits.csv.gz" || die "$from/digits.csv.gz: not the UCI digits file"
      put "$from/digits.csv.gz" "$dest/digits.csv.gz"; say "digits: $dest/digits.csv.gz"; return
    fi
    deb=$(ls "$from"/python3-sklearn*.deb 2>/dev/null | head -1 || true)
    [ -n "$deb" ] || die "neither digits.csv.gz nor python3-sklearn*.deb in $from"
  else
    command -v apt-get >/dev/null 2>&1 || die "apt-get not found: digits comes from Debian's python3-sklearn package"
    for pkg in python3-sklearn python3-sklearn-lib; do
      say "apt-get download $pkg"
      (cd "$tmp" && apt-get download -q "$pkg" >/dev/null 2>"$tmp/apt.err") ||
        { say "apt-get download $pkg failed: $(tail -1 "$tmp/apt.err")"; continue; }
      deb=$(ls "$tmp"/"$pkg"_*.deb | head -1)
      if dpkg-deb -c "$deb" > "$tmp/list" && grep -q "sklearn/datasets/data/digits.csv.gz$" "$tmp/list"; then break; fi
      say "$pkg does not contain digits.csv.gz"; deb=""
    done
    [ -n "$deb" ] || die "no Debian package with digits.csv.gz could be downloaded (no network or apt sources?)"
  fi
  dpkg-deb -c "$deb" > "$tmp/list" || die "$deb: not a Debian package"
  member=$(grep -o "\./.*sklearn/datasets/data/digits.csv.gz$" "$tmp/list" | head -1 || true)
  [ -n "$member" ] || die "$deb does not contain sklearn/datasets/data/digits.csv.gz"
  say "extracting $member from $(basename "$deb")"
  dpkg-deb -x "$deb" "$tmp/x"
  verify_digits "$tmp/x/$member" || die "digits.csv.gz from $(basename "$deb") failed verification"
  put "$tmp/x/$member" "$dest/digits.csv.gz"
  say "digits: $dest/digits.csv.gz"
}

# ---- cifar10 -----------------------------------------------------------------
CIFAR_URL=https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz
CIFAR_MD5=c32a1d4ab5d03f1284b67883e8d87530
CIFAR_FILES=(data_batch_1.bin data_batch_2.bin data_batch_3.bin data_batch_4.bin data_batch_5.bin test_batch.bin)

extract_cifar() {
  local tgz=$1 got; got=$(md5_of "$tgz")
  [ "$got" = "$CIFAR_MD5" ] || die "$tgz: md5 $got, expected the published $CIFAR_MD5"
  say "cifar-10-binary.tar.gz: md5 $got matches the published checksum"
  mkdir -p "$dest"
  tar -xzf "$tgz" -C "$tmp"
  cp "$tmp"/cifar-10-batches-bin/*.bin "$tmp"/cifar-10-batches-bin/batches.meta.txt "$dest/"
  say "cifar10: ${#CIFAR_FILES[@]} batch files in $dest"
}

fetch_cifar() {
  if [ -n "$from" ]; then
    if [ -f "$from/cifar-10-binary.tar.gz" ]; then extract_cifar "$from/cifar-10-binary.tar.gz"; return; fi
    local f got=0 dir=$from
    [ -d "$from/cifar-10-batches-bin" ] && dir="$from/cifar-10-batches-bin"
    mkdir -p "$dest"
    for f in "${CIFAR_FILES[@]}"; do
      [ -f "$dir/$f" ] || { say "$f: not in $dir, skipped"; continue; }
      [ "$(stat -c %s "$dir/$f")" -eq 30730000 ] || die "$dir/$f: $(stat -c %s "$dir/$f") bytes, expected 30730000 (10000 records of 3073)"
      put "$dir/$f" "$dest/$f"; got=$((got + 1))
    done
    [ $got -gt 0 ] || die "neither cifar-10-binary.tar.gz nor batch files in $from"
    say "cifar10: $got batch files copied; sizes checked, but no checksum is published for the extracted files (only for the archive)"
    if [ $got -ne ${#CIFAR_FILES[@]} ]; then
      say "cifar10: INCOMPLETE: only $got of the ${#CIFAR_FILES[@]} batch files"
      exit 3
    fi
    return
  fi
  download "$CIFAR_URL" "$tmp/cifar-10-binary.tar.gz" ||
    die "cannot download $CIFAR_URL (no internet here?). Use --from DIR with cifar-10-binary.tar.gz."
  extract_cifar "$tmp/cifar-10-binary.tar.gz"
}

case "$name" in
  digits) fetch_digits ;;
  mnist) fetch_idx mnist https://yann.lecun.com/exdb/mnist/ https://ossci-datasets.s3.amazonaws.com/mnist/ ;;
  fashion-mnist) fetch_fashion ;;
  cifar10) fetch_cifar ;;
  *) die "unknown data set '$name' (digits, mnist, fashion-mnist, cifar10)" ;;
esac
