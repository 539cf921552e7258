#!/usr/bin/env bash
# The trainer must never see a model's internals or a chip's errors: nothing
# in src/zo may include a header of src/nn or src/mzi (design.md, "The one
# boundary that matters").  Fails, naming the lines, if any file does.  The
# umbrella header zoptic.h includes both, so it is forbidden there too.
set -u
cd "$(dirname "$0")/.."
pattern='^[[:space:]]*#[[:space:]]*include[[:space:]]*[<"]([^">]*/)?((nn|mzi)/|zoptic\.h[">])'

# The pattern itself must catch the forms it is meant to catch, so that this
# test cannot pass vacuously.
probe=$(mktemp)
trap 'rm -f "$probe"' EXIT
printf '#include "mzi/chip.h"\n  #  include <nn/model.h>\n#include "../mzi/mesh.h"\n#include "zoptic.h"\n' >"$probe"
if [ "$(grep -cE "$pattern" "$probe")" -ne 4 ]; then
  echo "zo_boundary_test: the include pattern no longer matches its probes" >&2
  exit 1
fi
printf '#include "core/rng.h"\n#include "zo/blackbox.h"\n#include "zo/zoptic_extra.h"\n' >"$probe"
if grep -qE "$pattern" "$probe"; then
  echo "zo_boundary_test: the include pattern matches allowed headers" >&2
  exit 1
fi

[ -d src/zo ] || { echo "src/zo missing" >&2; exit 1; }
if hits=$(grep -rnE "$pattern" src/zo --include='*.c' --include='*.h'); then
  echo "src/zo includes headers of src/nn or src/mzi, or zoptic.h (the black-box boundary):" >&2
  echo "$hits" >&2
  exit 1
fi
exit 0
