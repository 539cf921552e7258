#!/usr/bin/env bash
# Installs the Debian packages zoptic needs, only when one is missing.
# Quick and silent when everything is present. Without root it prints the
# exact command to run and fails.
set -euo pipefail

PACKAGES=(gcc make pkg-config libgsl-dev libopenblas-dev libhdf5-dev check
          zlib1g-dev libinih-dev gnuplot-nox clang)  # clang: libFuzzer (tests/fuzz_test.sh)
PACKAGES+=(python3-numpy python3-cffi python3-pytest python3-h5py python3-torch) # python/ (tests/python_test.sh)
PACKAGES+=(libopenmpi-dev openmpi-bin procps) # zoptic-mpi; procps: pgrep (tests/mpi_test.sh)
PACKAGES+=(python3-cmaes) # the CMA-ES reference (tests/cmaes_ref_test.sh)
# libgfortran's static archive: OpenBLAS's LAPACK (CMA-ES's eigensolver,
# dsyevr) is Fortran, so a static link of libzoptic needs it (tests/install_test.sh)
gcc_major=$(gcc -dumpversion 2>/dev/null | cut -d. -f1 || true)
PACKAGES+=("libgfortran-${gcc_major:-12}-dev")
# Optional extras for `make bench` / experiments: python3-torch python3-numpy hyperfine
if [ "${1:-}" = "--bench" ]; then
  PACKAGES+=(python3-numpy python3-torch hyperfine)
fi

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

cmd="apt-get update && apt-get install -y --no-install-recommends ${missing[*]}"
if [ "$(id -u)" -ne 0 ]; then
  echo "zoptic: missing Debian packages: ${missing[*]}" >&2
  echo "zoptic: run as root:  $cmd" >&2
  exit 1
fi
echo "zoptic: installing missing Debian packages: ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >&2
apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
