#!/usr/bin/env bash
# Builds the libFuzzer targets fuzz/fuzz_*.c with clang
# -fsanitize=fuzzer,address,undefined and runs each from its committed seed
# corpus fuzz/corpus/<target>/ (new inputs go to build-fuzz/<target>/corpus).
#   IDX, CIFAR-10, CSV   the data-file parsers
#   config               the INI parser, with a parse -> write -> parse check
#   chip_proto           the chip-protocol decoders, both directions, with
#                        decode -> encode checks
#   ckpt                 the HDF5 checkpoint reader on mutated checkpoints
# Environment:
#   FUZZ_SECONDS=N   run each target N seconds (default 20)
#   FUZZ_RUNS=N      run each target for N executions instead (a campaign)
#   FUZZ_TARGETS="fuzz_config fuzz_ckpt"   only these
#   FUZZ_OUT=DIR     build and corpus directory (default build-fuzz)
#   FUZZ_SANITIZE=address,undefined (default) / undefined: sanitizers
#   FUZZ_OPT=-O1     optimisation (a long campaign: -O2 and undefined only)
#   FUZZ_TIMEOUT=60  seconds one input may take (a loaded machine stalls)
#   FUZZ_FRESH=1     start from the committed seed corpus only
# Exits non-zero if any target crashes, leaks, trips a sanitizer or a
# round-trip check; the crashing input is kept in build-fuzz/<target>/ and
# the log in build-fuzz/<target>/run.log.  Prints one summary line per
# target: executions, coverage, corpus size.
# Needs clang with libFuzzer (Debian: package clang, which pulls in
# libclang-rt-*-dev); installs it when missing and running as root.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

SECONDS_EACH=${FUZZ_SECONDS:-20}
OUT=${FUZZ_OUT:-build-fuzz}
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

# The library sources each target needs (globs, so that splitting a file
# into several of the same prefix needs no change here).
sources() {
  case "$1" in
    fuzz_idx|fuzz_cifar|fuzz_csv) echo src/core/alloc.c src/core/rng.c src/core/status.c src/data/*.c ;;
    fuzz_config) echo src/core/alloc.c src/core/nearest.c src/core/status.c src/io/config*.c src/io/runcheck.c src/io/runlog.c ;;
    fuzz_chip_proto) echo src/core/alloc.c src/core/status.c src/hw/chip_proto.c ;;
    fuzz_ckpt) echo src/core/alloc.c src/core/status.c src/core/params.c src/io/checkpoint*.c src/io/ckpt_file.c src/io/ckpt_map.c ;;
    *) echo "fuzz.sh: no source list for $1" >&2; return 1 ;;
  esac
}

SAN="-fsanitize=${FUZZ_SANITIZE:-address,undefined} -fno-sanitize-recover=undefined"
FOPT=${FUZZ_OPT:--O1}
PKGFLAGS="$(pkg-config --cflags gsl zlib hdf5 inih)"
LIBS="$(pkg-config --libs gsl zlib hdf5 inih | sed 's/-lgslcblas//') -lopenblas -lpthread -lm"
targets=${FUZZ_TARGETS:-$(for f in fuzz/fuzz_*.c; do basename "$f" .c; done)}

# Library objects through the Makefile (dependency tracking, one object per
# source shared by the targets), instrumented for coverage.
objs=()
for t in $targets; do
  for s in $(sources "$t"); do objs+=("$OUT/${s%.c}.o"); done
done
# shellcheck disable=SC2046
CI= make --no-print-directory -s BUILD=$OUT CC="$CLANG" OPT="$FOPT" \
  EXTRA_CFLAGS="-fsanitize=fuzzer-no-link $SAN -Wno-unknown-warning-option" \
  $(printf '%s\n' "${objs[@]}" | sort -u) >&2

failed=()
for name in $targets; do
  # FUZZ_FRESH=1 (make check): start from the committed seeds only, not from
  # inputs an earlier run of another version kept
  [ -z "${FUZZ_FRESH:-}" ] || rm -rf "$OUT/$name/corpus"
  mkdir -p "$OUT/$name/corpus"
  objs=(); for s in $(sources "$name"); do objs+=("$OUT/${s%.c}.o"); done
  # shellcheck disable=SC2086
  "$CLANG" -std=c11 -D_DEFAULT_SOURCE -g $FOPT -fsanitize=fuzzer $SAN -Isrc $PKGFLAGS \
    "fuzz/$name.c" "${objs[@]}" $LIBS -o "$OUT/$name/$name"
  if [ -n "${FUZZ_RUNS:-}" ]; then limit="-runs=$FUZZ_RUNS"; else limit="-max_total_time=$SECONDS_EACH"; fi
  seeds="$PWD/fuzz/corpus/$name"
  [ -d "$seeds" ] || { echo "fuzz.sh: $name has no seed corpus $seeds" >&2; failed+=("$name"); continue; }
  if (cd "$OUT/$name" && LSAN_OPTIONS="suppressions=$ROOT/fuzz/lsan.supp:print_suppressions=0" \
        "./$name" "$limit" -max_len=65536 -timeout=${FUZZ_TIMEOUT:-60} -rss_limit_mb=2048 \
        -print_final_stats=1 corpus "$seeds" > run.log 2>&1); then
    execs=$(grep -Eo 'stat::number_of_executed_units: *[0-9]+' "$OUT/$name/run.log" | grep -Eo '[0-9]+$' || echo '?')
    cov=$(grep -Eo 'cov: [0-9]+' "$OUT/$name/run.log" | tail -1 || true)
    corp=$(grep -Eo 'corp: [0-9]+/[0-9]+[a-zA-Z]*' "$OUT/$name/run.log" | tail -1 || true)
    echo "== $name: ok, $execs executions, 0 crashes, $cov, $corp" >&2
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
