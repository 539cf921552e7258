#!/usr/bin/env bash
# Measures the chip-driver protocol's overhead (docs/hardware.md).
# Usage: bash bench/chip_overhead.sh   (after `make`)
set -eu
BUILD=${BUILD:-build}
make --no-print-directory all >/dev/null
PKG_CFLAGS=$(pkg-config --cflags gsl hdf5 2>/dev/null || true)
cc -std=c11 -O2 -march=native -D_DEFAULT_SOURCE -Isrc $PKG_CFLAGS bench/chip_overhead.c \
   "$BUILD/libzoptic.a" $(pkg-config --libs gsl | sed 's/-lgslcblas//') -lopenblas -lpthread -lm \
   -o "$BUILD/chip_overhead"
"$BUILD/chip_overhead" "$BUILD"
