#!/usr/bin/env bash
# Builds one libFuzzer target per file parser (fuzz/fuzz_*.c: IDX, CIFAR-10,
# CSV) with clang -fsanitize=fuzzer,address,undefined, writes a small seed
# corpus of valid files for each, and runs each target for FUZZ_SECONDS
# (default 20).  Exits non-zero if any target crashes, leaks or trips a
# sanitizer; the crashing input is kept in build-fuzz/<target>/.
# Needs clang with libFuzzer (Debian: package clang, which pulls in
# libclang-rt-*-dev); installs it when missing and running as root.
set -euo pipefail
cd "$(dirname "$0")/.."

SECONDS_EACH=${FUZZ_SECONDS:-20}
OUT=build-fuzz
CLANG=${CLANG:-clang}

have_libfuzzer() {
  command -v "$CLANG" >/dev/null 2>&1 || return 1
  local t; t=$(mktemp -d)
  printf 'int LLVMFuzzerTestOneInput(const unsigned char *d, unsigned long n){(void)d;(void)n;return 0;}\n' > "$t/t.c"
  "$CLANG" -fsanitize=fuzzer "$t/t.c" -o "$t/t" >/dev/null 2>&1; local rc=$?
  rm -rf "$t"; return $rc
}

if ! have_libfuzzer; then
  if [ "$(id -u)" -eq 0 ]; then
    echo "fuzz.sh: installing clang (libFuzzer)" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >&2 && apt-get install -y -qq --no-install-recommends clang >&2
  fi
  have_libfuzzer || { echo "fuzz.sh: clang with libFuzzer is needed: apt-get install clang" >&2; exit 1; }
fi

mkdir -p "$OUT"
CFLAGS="-std=c11 -D_DEFAULT_SOURCE -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined -Isrc $(pkg-config --cflags gsl zlib)"
LIBS="$(pkg-config --libs gsl zlib) -lm"
SRC="src/core/alloc.c src/core/rng.c src/core/status.c $(ls src/data/*.c)"

# Seed corpora: a few valid files per format, written here.
seed_dir() { rm -rf "$OUT/$1/seeds"; mkdir -p "$OUT/$1/seeds" "$OUT/$1/corpus"; echo "$OUT/$1/seeds"; }
d=$(seed_dir fuzz_idx)
printf '\x00\x00\x08\x03\x00\x00\x00\x02\x00\x00\x00\x02\x00\x00\x00\x02\x00\x01\x02\x03\xfc\xfd\xfe\xff' > "$d/img"
printf '\x00\x00\x08\x01\x00\x00\x00\x03\x07\x02\x01' > "$d/labels"
printf '\x00\x00\x0b\x02\x00\x00\x00\x01\x00\x00\x00\x02\x01\x02\xff\xfe' > "$d/int16"
printf '\x00\x00\x0d\x01\x00\x00\x00\x01\x3f\xc0\x00\x00' > "$d/float32"
printf '\x00\x00\x0e\x01\x00\x00\x00\x01\xbf\xd0\x00\x00\x00\x00\x00\x00' > "$d/float64"
d=$(seed_dir fuzz_cifar)
{ printf '\x03'; head -c 3072 /dev/zero | tr '\0' '\200'; printf '\x09'; head -c 3072 /dev/zero; } > "$d/two-records"
printf '\x01\x02' > "$d/short"
d=$(seed_dir fuzz_csv)
printf '\x00%s' "$(printf '0,1,2,3,4,5,6,7,1\n16,15,14,13,12,11,10,9,0\n')" > "$d/digits"
printf '\x29label;a;b\r\n1;0.5;2\n0;3e1;-4\n' > "$d/header"
printf '\x00# comment\n\n1.5,2,3\n' > "$d/comment"

failed=()
for src in fuzz/fuzz_*.c; do
  name=$(basename "$src" .c)
  echo "== $name: building" >&2
  # shellcheck disable=SC2086
  "$CLANG" $CFLAGS "$src" $SRC $LIBS -o "$OUT/$name/$name"
  echo "== $name: running ${SECONDS_EACH}s" >&2
  if (cd "$OUT/$name" && "./$name" -max_total_time="$SECONDS_EACH" -max_len=16384 \
        -print_final_stats=1 corpus seeds > run.log 2>&1); then
    execs=$(grep -Eo 'stat::number_of_executed_units: *[0-9]+' "$OUT/$name/run.log" | grep -Eo '[0-9]+$' || echo '?')
    cov=$(grep -Eo 'cov: [0-9]+' "$OUT/$name/run.log" | tail -1 || true)
    echo "== $name: ok, $execs inputs, $cov" >&2
  else
    echo "== $name: FAILED (see $OUT/$name/run.log)" >&2
    tail -n 40 "$OUT/$name/run.log" >&2
    failed+=("$name")
  fi
done
if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzz.sh: failures: ${failed[*]}" >&2
  exit 1
fi
echo "fuzz.sh: all targets ran clean" >&2
