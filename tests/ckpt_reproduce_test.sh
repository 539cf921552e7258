#!/usr/bin/env bash
# A model reproducible from its checkpoint alone (#20): tests/ckpt_reproduce.py
# evaluates a run's model in numpy from nothing but its ckpt.h5 (the
# architecture record, theta's views, the chip's stored errors, the mesh
# layouts, the preprocessing and the test rows) and the data file eval
# reads, and must agree with `zoptic eval --outputs` to 1e-5 of each
# sample's largest output, for the demo configuration (MZI classifier, AAAI
# chip errors) at a tiny budget, a truncated MZI classifier with stronger
# errors, and an MLP.  Controls: without its chip/ items, or with one phase
# changed, the demo's checkpoint no longer reproduces (the check can fail).
set -euo pipefail
Z="$(cd "$(dirname "${BUILD:-build}/zoptic")" && pwd)/zoptic"
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
PY=/usr/bin/python3
if ! "$PY" -c 'import h5py, numpy' 2>/dev/null; then
  echo "ckpt_reproduce_test: SKIP: /usr/bin/python3 lacks h5py or numpy (apt-get install python3-h5py python3-numpy)"
  exit 0
fi
T="$(mktemp -d "${TMPDIR:-/tmp}/zoptic-repro-XXXXXX")"
trap 'rm -rf "$T"' EXIT
source "$ROOT/tests/common/script.sh"
R="$ROOT/tests/ckpt_reproduce.py"
cd "$T"
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
strength = 2
seed = 11
[zo]
method = zo-np
mode = block
Q = 10
lr = 0.005
[train]
budget = 2000
eval_every = 1000
checkpoint_every = 1000
EOF2
cat > mlp.ini <<EOF2
[data]
task = digits
path = $T/digits.csv
n_test = 60
batch = 20
[model]
kind = mlp
width = 24
layers = 2
[zo]
lr = 0.01
[train]
budget = 3000
eval_every = 1000
checkpoint_every = 1000
EOF2
run() { # NAME CONFIG [--set ...]: train, eval --outputs, reproduce
  local name=$1 cfg=$2; shift 2
  "$Z" train "$cfg" --out "$name" "$@" >"$name.log" 2>&1 || { fail "$name: train: $(tail -3 "$name.log")"; return; }
  "$Z" eval "$name/ckpt.h5" --outputs "$name/out.csv" >/dev/null 2>&1 || { fail "$name: eval"; return; }
  expect 0 "largest difference" "$PY" "$R" "$name/ckpt.h5" digits.csv "$name/out.csv"
  "$PY" "$R" "$name/ckpt.h5" digits.csv "$name/out.csv" | sed "s/^/$name: /"
}
run demo "$ROOT/experiments/demo.ini" --set data.path="$T/digits.csv" --set data.n_test=60 \
  --set train.budget=2000 --set train.eval_every=1000
run mzi mzi.ini
run mlp mlp.ini
expect 0 "layer mesh1 mzi_mesh in=32 out=32 params=0+256 topology=clements K=16 cols=16 n_mzi=120 screen=1" \
  "$Z" info --values demo/ckpt.h5
# controls: a copy (h5py) without the chip's errors, one with a phase changed
"$PY" - demo/ckpt.h5 <<'PYEOF'
import sys, h5py
with h5py.File(sys.argv[1], "r") as f:
    for out, edit in (("noerr.h5", "errors"), ("phase.h5", "phase")):
        with h5py.File(out, "w") as g:
            for k in f.keys():
                f.copy(k, g)
            if edit == "errors":
                del g["state/chip"]
            else:
                off = int(g["params/mesh2.phase"].attrs["offset"])
                g["theta"][off + 7] += 0.05
PYEOF
expect 1 "largest difference" "$PY" "$R" noerr.h5 digits.csv demo/out.csv
expect 1 "largest difference" "$PY" "$R" phase.h5 digits.csv demo/out.csv
[ "$fails" -eq 0 ] || { echo "ckpt_reproduce_test: $fails failure(s)"; exit 1; }
echo "ckpt_reproduce_test: ok"
