#!/usr/bin/env bash
# The chip's realised fabrication errors live in the checkpoint (#20 item 6):
# `zoptic info --errors` lists every splitter's and arm's error with its
# meaning; eval and --resume use the stored errors, not ones regenerated
# from chip.seed (a checkpoint whose chip.seed was changed evaluates the
# same; without its chip/ items it does not).
set -euo pipefail
Z="$(cd "$(dirname "${BUILD:-build}/zoptic")" && pwd)/zoptic"
PY=/usr/bin/python3
T="$(mktemp -d "${TMPDIR:-/tmp}/zoptic-chiperr-XXXXXX")"
trap 'rm -rf "$T"' EXIT
cd "$T"
fails=0
fail() { echo "FAIL: $*" >&2; fails=$((fails + 1)); }
# a digits-format CSV (64 pixels 0..16 + label 0..9)
awk 'BEGIN { srand(5); for (i = 0; i < 300; i++) { c = int(rand() * 10); s = "";
  for (p = 0; p < 64; p++) { v = (int(p / 8) == c % 8 && (c < 8 || p % 2 == c - 8)) ? 16 : int(rand() * 4); s = s v "," }
  print s c } }' > digits.csv
cat > mzi.ini <<EOF2
[data]
task = digits
path = $T/digits.csv
n_test = 60
batch = 20
[model]
kind = mzi-classifier
K = 12
L = 4
score_scale = 10
[chip]
strength = 1
seed = 3
[zo]
method = zo-i
Q = 4
lr = 0.01
[train]
budget = 400
eval_every = 20
checkpoint_every = 40
EOF2
"$Z" train mzi.ini --out run >/dev/null 2>&1 || fail "training failed"
# ---- info --errors: every value with its meaning ----
"$Z" info --errors --no-config run/ckpt.h5 > errors.txt || fail "info --errors failed"
# K = 12, L = 4: 4 columns of 6 and 5 alternating MZIs = 22 MZIs per mesh
for layer in mesh1 mesh2 mesh3; do
  grep -qF "layer $layer: 22 MZIs on 12 channels" errors.txt || fail "$layer missing: $(head -3 errors.txt)"
  [ "$(grep -c "^  $layer mzi .* splitter .* gamma_rad " errors.txt)" -eq 44 ] || fail "$layer: not 44 splitters"
  [ "$(grep -c "^  $layer mzi .* stage .* arm .* zeta " errors.txt)" -eq 88 ] || fail "$layer: not 88 arms"
  [ "$(grep -c "^  $layer screen " errors.txt)" -eq 12 ] || fail "$layer: not 12 screen channels"
done
grep -qE "^  mesh1 mzi 21 stage internal arm lower zeta " errors.txt || fail "arm naming"
# the AAAI errors at strength 1: gamma ~ N(0, 0.01 rad), |zeta| in [0.999, 1]
awk '/gamma_rad/ { g = $NF; if (g < 0) g = -g; if (g > 0.1) bad++; if (g > 0) nz++ }
     / zeta / && !/screen/ { r = $(NF-1); i = $NF; sub(/i$/, "", i); m = sqrt(r*r + i*i);
       if (m > 1 + 1e-12 || m < 0.999 - 1e-12) bad++ }
     END { exit !(bad == 0 && nz > 100) }' errors.txt || fail "error values out of the model's range"
# ---- eval uses the stored errors ----
"$Z" eval run/ckpt.h5 --outputs base.csv > base.txt || fail "eval failed"
# copies of the checkpoint whose configuration names another chip.seed,
# with and without the stored errors (h5py writes plain HDF5 copies; v110:
# the views of theta are virtual datasets, format 2)
$PY - <<'PYEOF' || fail "h5py copy failed"
import h5py, numpy as np
def copy(dst, keep_errors):
    with h5py.File("run/ckpt.h5", "r") as s, h5py.File(dst, "w", libver=("v108", "v110")) as d:
        for k, v in s.attrs.items():
            if k == "config":  # chip.seed = 3 -> 9 in the [chip] section
                text = v.decode()
                i = text.index("\n[chip]")
                j = text.index("\nseed = 3\n", i)
                assert text.find("\n[", i + 1) > j, "seed is not in [chip]"
                v = np.bytes_((text[:j] + "\nseed = 9\n" + text[j + 10:]).encode())
            d.attrs.create(k, v, dtype=s.attrs.get_id(k).dtype if k != "config" else None)
        for name in s:
            if name == "state":
                g = d.create_group("state")
                for item in s["state"]:
                    if item == "chip" and not keep_errors:
                        continue
                    s.copy(s["state"][item], g)
            else:
                s.copy(s[name], d)
copy("seed9.h5", True)
copy("seed9-noerrors.h5", False)
PYEOF
grep -q "^seed = 9" <("$Z" info seed9.h5 | sed 's/^  //' | sed -n '/^\[chip\]/,/^\[/p') \
  || fail "the copy does not carry chip.seed = 9"
"$Z" eval seed9.h5 --outputs seed9.csv > seed9.txt || fail "eval of the copy failed"
cmp -s base.csv seed9.csv || fail "eval of the copy with chip.seed = 9 differs: the stored errors were not used"
"$Z" eval seed9-noerrors.h5 --outputs noerr.csv > /dev/null || fail "eval without errors failed"
cmp -s base.csv noerr.csv && fail "without stored errors chip.seed = 9 changed nothing (the test cannot fail)"
if [ $fails -ne 0 ]; then echo "$fails failure(s)"; exit 1; fi
echo "chip_errors_test: ok"
