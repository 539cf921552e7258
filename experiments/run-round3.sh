#!/bin/bash
# Round 3 (experiments/preregistration-round3.md): stages of the
# pre-registered plan, one per argument, in the order of the plan.
#   ZOPTIC=/tmp/zoptic-r3-COMMIT nice -n 5 experiments/run-round3.sh val-t1 edge-t1 norm-t1 test-t1
# val-t1   T1 lr grid {0.001, 0.002, 0.005} for ZO-I, ZO-co, ZO-NP on the
#          50,000 / 10,000 validation split of the Fashion-MNIST training
#          file, seeds 101-102, 157,500 queries (1/8 of the test budget)
# edge-t1  the edge rule: one more rate for a method picked at a grid edge
# norm-t1  the zo.normalize question: ZO-NP at its picked lr, true and
#          false, validation seeds 101-104
# val-t1-new, edge-t1-new   the same grid for zo-sparse, zo-guided,
#          zo-adapt (lr) and CMA-ES (sigma0), then its edge rule
# test-t1  T1 at Q = 20: the official 60k / 10k split, 1.26 M queries,
#          test seeds 201-210 one seed at a time (all methods of a seed
#          before the next), checkpoints every 2,000 iterations: an
#          interrupted run is resumed by running the stage again;
#          METHODS=zo-i,zo-co,zo-np,zo-sparse,zo-guided,zo-adapt,cmaes adds
#          the new methods to the same seed directories (picks from both grids)
# test-t1q T1q: ZO-I, ZO-co, ZO-NP at Q = 1, 5, 100 (QS="1 5" for a subset),
#          60,000 iterations each (see run_test-t1q)
# val-T, edge-T, test-T for T = t2, t3, t4a, t4b, t5: the other tasks (task_of)
# val-t6, edge-t6, test-t6  T6, the N_max sweep of ZO-NP on T1 (amendment of
#          2026-12-06): a validation grid per N_max, its edge rule, then test
#          seeds 201-205, every run's peak RSS recorded (run_val-t6 below)
# Every stage reuses finished runs, so a stage can be rerun to continue.
set -e
cd "$(dirname "$0")/.."
# shellcheck source=experiments/tuned-lib.sh
. experiments/tuned-lib.sh
T1=paper-cnn-fashion-mnist
VAL_T1="--set data.test_path= --set data.test_labels= --set data.n_test=10000"
VAL_BUDGET=157500
JOBS=${JOBS:-2}

run_val-t1() {
  datasets/fetch.sh fashion-mnist >/dev/null 2>&1 || [ -f datasets/fashion-mnist/t10k-labels-idx1-ubyte.gz ]
  # shellcheck disable=SC2086
  grid r3-val-t1 $T1 "0.001 0.002 0.005" --seeds 2 --first-seed 101 --budget $VAL_BUDGET \
       --jobs "$JOBS" $VAL_T1
}

# PICKS_T1: the validation picks as reported in docs/results.md (T1 grid,
# its edge rule and stage 2's grid), for a machine that no longer holds the
# validation outputs; pick_t1 recomputes them when the outputs are here.
PICKS_T1="--method-set zo-i:zo.lr=0.002 --method-set zo-co:zo.lr=0.005 \
--method-set zo-np:zo.lr=0.005 --method-set zo-sparse:zo.lr=0.002 \
--method-set zo-guided:zo.lr=0.002 --method-set zo-adapt:zo.lr=0.002 \
--method-set cmaes:zo.cmaes_sigma=0.005"
pick_t1() {
  local d=experiments/out
  [ -f $d/r3-val-t1/runs.csv ] || { echo "$PICKS_T1"; return 0; }
  # shellcheck disable=SC2046
  experiments/pick_lr.py $d/r3-val-t1 $([ -f $d/r3-val-t1-new/runs.csv ] && echo $d/r3-val-t1-new) 2>/dev/null
}

# Stage 2 (the methods that became zo.method values after the T1 grid):
# zo-sparse, zo-guided, zo-adapt on T1's pre-registered lr grid {0.001,
# 0.002, 0.005, 0.01}; CMA-ES on sigma0 {0.01, 0.03, 0.1}; the same split,
# seeds 101-102 and validation budget as val-t1.  edge-t1-new applies the
# edge rule once (lr: 0.0005 / 0.02; sigma0: 0.005 / 0.2).
NEW_SAMPLERS="zo-sparse zo-guided zo-adapt"
new_grid() { # extra labels "METHOD@lrX" / "cmaes@sigmaX" beyond the grid
  local methods="" sets=() m x
  for m in $NEW_SAMPLERS; do for x in 0.001 0.002 0.005 0.01; do methods="$methods $m@lr$x"; done; done
  for x in 0.01 0.03 0.1; do methods="$methods cmaes@sigma$x"; done
  for m in $methods "$@"; do
    case "$m" in
      *@lr*) sets+=(--method-set "$m:zo.lr=${m#*@lr}") ;;
      *@sigma*) sets+=(--method-set "$m:zo.cmaes_sigma=${m#*@sigma}") ;;
    esac
  done
  methods="$methods $*"
  # shellcheck disable=SC2086
  $C $T1 --name r3-val-t1-new --methods "$(echo $methods | tr ' ' ',')" "${sets[@]}" --no-plot \
     --ref cmaes@sigma0.1 $COS --seeds 2 --first-seed 101 --budget $VAL_BUDGET --jobs "$JOBS" $VAL_T1
}
run_val-t1-new() { new_grid; }
# The labels the edge rule adds to the grid GRID_DIR (lr grid LO .. HI of
# METHODS, default 0.001 .. 0.01, extended to LO_EXT / HI_EXT; CMA-ES's
# sigma0 grid {0.01 .. 0.1}), one per line.
edge_labels() { # GRID_DIR "METHODS" [LO HI LO_EXT HI_EXT]
  local pick m v lo=${3:-0.001} hi=${4:-0.01} lox=${5:-0.0005} hix=${6:-0.02}
  pick=$(experiments/pick_lr.py "$1" 2>/dev/null)
  for m in $2; do
    v=$(tr ' ' '\n' <<<"$pick" | sed -n "s/^$m:zo.lr=//p")
    [ "$v" = "$lo" ] && echo "$m@lr$lox"
    [ "$v" = "$hi" ] && echo "$m@lr$hix"
  done
  v=$(tr ' ' '\n' <<<"$pick" | sed -n "s/^cmaes:zo.cmaes_sigma=//p")
  case "$v" in 0.01) echo "cmaes@sigma0.005" ;; 0.1) echo "cmaes@sigma0.2" ;; esac
}
run_edge-t1-new() {
  local extra
  extra=$(edge_labels experiments/out/r3-val-t1-new "$NEW_SAMPLERS")
  [ -n "$extra" ] || { echo "run-round3: no new-method pick at a grid edge" >&2; return 0; }
  # shellcheck disable=SC2086
  new_grid $extra
}

# The pre-registered edge rule: a method whose pick is at an edge of the grid
# {0.001, 0.002, 0.005} gets one more rate in that direction (0.0005 or
# 0.01) on validation, once; the grid is then rerun with every rate so far
# (finished runs reused), and the pick redone over all of them.
run_edge-t1() {
  local pick m lr methods="" sets=() extra=0
  pick=$(pick_t1)
  for m in zo-i zo-co zo-np; do
    lr=$(tr ' ' '\n' <<<"$pick" | sed -n "s/^$m:zo.lr=//p")
    for x in 0.001 0.002 0.005; do methods="$methods,$m@lr$x"; sets+=(--method-set "$m@lr$x:zo.lr=$x"); done
    case "$lr" in
      0.001) methods="$methods,$m@lr0.0005"; sets+=(--method-set "$m@lr0.0005:zo.lr=0.0005"); extra=1 ;;
      0.005) methods="$methods,$m@lr0.01"; sets+=(--method-set "$m@lr0.01:zo.lr=0.01"); extra=1 ;;
    esac
  done
  [ $extra -eq 1 ] || { echo "run-round3: no pick at a grid edge" >&2; return 0; }
  # shellcheck disable=SC2086
  $C $T1 --name r3-val-t1 --methods "${methods#,}" "${sets[@]}" --no-plot --ref zo-np@lr0.001 \
     $COS --seeds 2 --first-seed 101 --budget $VAL_BUDGET --jobs "$JOBS" $VAL_T1
}

run_norm-t1() {
  local lr; lr=$(pick_t1 | tr ' ' '\n' | sed -n 's/^zo-np:zo.lr=//p')
  [ -n "$lr" ] || { echo "run-round3: no ZO-NP pick in experiments/out/r3-val-t1" >&2; exit 1; }
  # shellcheck disable=SC2086
  $C $T1 --name r3-norm-t1 --methods zo-np@norm,zo-np@raw --seeds 4 --first-seed 101 \
     --budget $VAL_BUDGET --jobs "$JOBS" --no-plot --ref zo-np@raw $COS $VAL_T1 \
     --set zo.lr="$lr" --method-set zo-np@norm:zo.normalize=true \
     --method-set zo-np@raw:zo.normalize=false
}

# The pre-registered zo.normalize decision (norm-t1, 2026-12-05): ZO-NP
# without rescaling, mean validation accuracy 0.7927 against 0.7851 (seeds
# 101-104): more than 0.002 apart, so false is ZO-NP's setting; written out
# here so that a binary built before the default changed runs the same bits.
NORM_NP="--method-set zo-np:zo.normalize=false"

# Has the committed finals file (experiments/r3-t1-finals.csv, r3_t1.py
# --update-finals) every method's final of seed SEED at Q, of a run that
# spent its BUDGET (within 500 queries, as r3_t1.py counts it; the archived
# finals carry no query count)?  Then the seed is not run again (a new
# machine without the run directories).
have_finals() { # Q SEED BUDGET
  local m
  for m in $(tr ',' ' ' <<<"${METHODS:-zo-i,zo-co,zo-np}"); do
    awk -F, -v q="$1" -v m="$m" -v s="$2" -v b="$3" \
      '$1 == q && $2 == m && $3 == s && ($5 == "" || $5 + 0 >= b - 500) { f = 1 } END { exit !f }' \
      experiments/r3-t1-finals.csv 2>/dev/null || return 1
  done
}

# One test stage of T1 / T1q: seeds FIRST..LAST (201-210), one directory
# NAME-sSEED per seed, every method of a seed before the next seed; a seed
# whose finals are all committed is skipped unless its directory is here.
test_seeds() { # NAME BUDGET [compare arguments...]
  local name=$1 budget=$2 pick s q; shift 2
  pick="$(pick_t1) $NORM_NP"
  q=$(sed -n 's/.*zo\.Q=\([0-9]*\).*/\1/p' <<<"$*")
  for s in $(seq "${FIRST:-201}" "${LAST:-210}"); do
    if [ ! -d "experiments/out/$name-s$s" ] && have_finals "${q:-20}" "$s" "$budget"; then
      echo "run-round3: $name-s$s: every final is in experiments/r3-t1-finals.csv: skipped"
      continue
    fi
    # shellcheck disable=SC2086
    $C $T1 --name "$name-s$s" --methods "${METHODS:-zo-i,zo-co,zo-np}" --seeds 1 \
       --first-seed "$s" --budget "$budget" --jobs "$JOBS" --no-plot $COS $pick \
       --set train.checkpoint_every=2000 "$@"
  done
}

run_test-t1() { test_seeds r3-test-t1 1260000; }

# T1q (pre-registered: the rebuttal's Q table): ZO-I, ZO-co, ZO-NP at
# Q = 1, 5, 100 with T1's picks, 100 epochs of ZO-I = 60,000 iterations =
# 60,000 (Q + 1) queries, test seeds 201-210, one directory per (Q, seed);
# QS="1 5" runs a subset (Q = 100 is 6.06 M queries per run).
run_test-t1q() {
  local q
  for q in ${QS:-1 5 100}; do test_seeds "r3-test-t1q-q$q" $((60000 * (q + 1))) --set zo.Q="$q"; done
}

# ---- T2-T5 (pre-registered; every method of round 3, ZO-NP unrescaled as
# decided on T1).  Validation: the test budget, seeds 101-102 on the 6,400 /
# 1,600 split of MNIST-10k's training images (T2, T5: round 2's
# VAL_MNIST), seeds 1001-1002 for every seeded key on the generated tasks
# (T3, T4: round 2's validation seeds; the data differ from the test
# seeds'); lr grid LRS for the six lr methods, sigma0 {0.01, 0.03, 0.1} for
# CMA-ES; the edge rule once (a step x2 or /2 beyond the edge).  Test: seeds
# 201-210 (FIRST, LAST), every method at its pick, one directory per seed,
# checkpoints every 2,000 iterations.
#   T2  the K = 16 MZI classifier with chip errors, MNIST-10k, 1,260,000
#   T3  the MZI equalizer, ISI channel, 1,000,000
#   T4a the MZI RNN copying task, T = 10, 160,000;  T4b the same at T = 30
#   T5  the MLP-mixer, MNIST-10k, 300,000
# Validation grids outlive their machine: each grid stage copies its runs.csv
# (one row per run: label, seed, final metric, ...) to experiments/r3-val/
# NAME-runs.csv (committed with the picks), and the picks are read from
# there when experiments/out/NAME is gone (a new machine).
VAL_ARCHIVE=experiments/r3-val
archive_val() { # DIR NAME: keep DIR/runs.csv as the archive of grid NAME
  [ -f "$1/runs.csv" ] || return 0
  mkdir -p "$VAL_ARCHIVE" && cp "$1/runs.csv" "$VAL_ARCHIVE/$2-runs.csv"
}
val_dir() { # DIR NAME: DIR if it has runs.csv, else the archived runs file (pick_lr.py takes both)
  if [ -f "$1/runs.csv" ] || [ ! -f "$VAL_ARCHIVE/$2-runs.csv" ]; then echo "$1"; return 0; fi
  echo "run-round3: $1 is not here: the picks come from $VAL_ARCHIVE/$2-runs.csv" >&2
  echo "$VAL_ARCHIVE/$2-runs.csv"
}
grid_csv() { if [ -f "$1" ]; then echo "$1"; else echo "$1/runs.csv"; fi; }
not_run() { # GRID (val_dir's): the labels read from stdin that the grid has no row of
  local l f
  f=$(grid_csv "$1")
  while read -r l; do
    [ -n "$l" ] || continue
    awk -F, -v l="$l" '$1 == l { f = 1 } END { exit !f }' "$f" 2>/dev/null || echo "$l"
  done
}
merge_val() { # DIR NAME: DIR/runs.csv := the archive's rows + DIR's (DIR's win for a label and seed)
  local a="$VAL_ARCHIVE/$2-runs.csv"
  [ -f "$a" ] && [ -f "$1/runs.csv" ] || return 0
  awk -F, 'FNR == 1 { if (NR == 1) print; next } { k = $1 "," $2 }
           !(k in row) { order[++n] = k } { row[k] = $0 }
           END { for (i = 1; i <= n; i++) print row[order[i]] }' "$a" "$1/runs.csv" >"$1/runs.csv.new" &&
    mv "$1/runs.csv.new" "$1/runs.csv"
}

LR_METHODS="zo-i zo-co zo-np zo-sparse zo-guided zo-adapt"
ALL_METHODS="zo-i,zo-co,zo-np,zo-sparse,zo-guided,zo-adapt,cmaes"
LRS_LO="0.001 0.002 0.005 0.01" # T2, T5
LRS_HI="0.002 0.005 0.01 0.02"  # T3, T4
# per task: config, budget, lr grid, validation arguments, arguments of
# every run (validation and test)
task_of() { # T2 | T3 | T4a | T4b | T5: sets TASK BUDGET LRS VAL ARGS
  ARGS=""
  case "$1" in
    t2) TASK=mzi-classifier-mnist10k BUDGET=1260000 LRS=$LRS_LO VAL="--first-seed 101 $VAL_MNIST" ;;
    t3) TASK=mzi-equalizer-isi BUDGET=1000000 LRS=$LRS_HI VAL="--first-seed 1001" ;;
    t4a) TASK=mzi-rnn-copying BUDGET=160000 LRS=$LRS_HI VAL="--first-seed 1001"
         ARGS="--set data.copy_delay=10" ;;
    t4b) TASK=mzi-rnn-copying BUDGET=160000 LRS=$LRS_HI VAL="--first-seed 1001"
         ARGS="--set data.copy_delay=30" ;;
    t5) TASK=mixer-mnist10k BUDGET=300000 LRS=$LRS_LO VAL="--first-seed 101 $VAL_MNIST" ;;
    *) echo "run-round3: no task $1" >&2; exit 2 ;;
  esac
  case "$TASK" in *mnist10k) need_mnist ;; esac
}

need_mnist() { # the t10k pair of MNIST (the 10k stand-in), from ../shared if here
  [ -f datasets/mnist/t10k-images-idx3-ubyte.gz ] || [ -f datasets/mnist/t10k-images-idx3-ubyte ] ||
    { [ -d ../shared/datasets/mnist ] && mkdir -p datasets/mnist &&
      cp ../shared/datasets/mnist/t10k-*-idx?-ubyte.gz datasets/mnist/; } ||
    { echo "run-round3: no MNIST t10k files in datasets/mnist (datasets/fetch.sh mnist)" >&2; exit 1; }
  need_mnist_val
}

task_grid() { # t2|t3|t4a|t4b|t5 [--only] [extra labels METHOD@lrX / cmaes@sigmaX]
  local t=$1 methods="" sets=() m x only=0 ref; shift
  [ "${1:-}" = --only ] && { only=1; shift; } # the extra labels alone (the grid is archived)
  task_of "$t"
  if [ $only = 0 ]; then
    for m in $LR_METHODS; do for x in $LRS; do methods="$methods $m@lr$x"; done; done
    for x in 0.01 0.03 0.1; do methods="$methods cmaes@sigma$x"; done
    ref="zo-np@lr${LRS%% *}"
  else
    ref=$1
  fi
  methods="$methods $*"
  for m in $methods; do
    case "$m" in
      *@lr*) sets+=(--method-set "$m:zo.lr=${m#*@lr}") ;;
      *@sigma*) sets+=(--method-set "$m:zo.cmaes_sigma=${m#*@sigma}") ;;
    esac
    case "$m" in zo-np@*) sets+=(--method-set "$m:zo.normalize=false") ;; esac
  done
  # shellcheck disable=SC2086
  $C $TASK --name "r3-val-$t" --methods "$(echo $methods | tr ' ' ',')" "${sets[@]}" --no-plot \
     --ref "$ref" $COS --seeds 2 --budget "$BUDGET" --jobs "$JOBS" $VAL $ARGS
  [ $only = 0 ] || merge_val "experiments/out/r3-val-$t" "r3-val-$t"
  archive_val "experiments/out/r3-val-$t" "r3-val-$t"
}

task_edge() { # t2|...: the edge rule once on r3-val-TASK
  local t=$1 extra lo hi vd
  task_of "$t"
  lo=${LRS%% *} hi=${LRS##* }
  vd=$(val_dir "experiments/out/r3-val-$t" "r3-val-$t")
  # the extension labels the grid has not run yet (the rule applies once)
  extra=$(edge_labels "$vd" "$LR_METHODS" "$lo" "$hi" \
          "$(awk -v x="$lo" 'BEGIN { print x / 2 }')" "$(awk -v x="$hi" 'BEGIN { print x * 2 }')" |
          not_run "$vd")
  [ -n "$extra" ] || { echo "run-round3: no $t pick at a grid edge" >&2; return 0; }
  # from the archive (no run directories here): only the extension labels run
  # shellcheck disable=SC2086
  if [ "$vd" = "experiments/out/r3-val-$t" ]; then task_grid "$t" $extra; else task_grid "$t" --only $extra; fi
}

# Has experiments/r3-finals.csv (r3_tasks.py --update-finals; it keeps only
# runs that spent their budget) every method's final of task T, seed SEED?
have_task_finals() { # T SEED
  local m
  for m in $(tr ',' ' ' <<<"${METHODS:-$ALL_METHODS}"); do
    awk -F, -v t="$1" -v m="$m" -v s="$2" '$1 == t && $2 == m && $3 == s { f = 1 } END { exit !f }' \
      experiments/r3-finals.csv 2>/dev/null || return 1
  done
}

task_test() { # t2|...: seeds FIRST..LAST at the validation picks
  local t=$1 pick s vd
  task_of "$t"
  vd=$(val_dir "experiments/out/r3-val-$t" "r3-val-$t")
  [ -f "$(grid_csv "$vd")" ] ||
    { echo "run-round3: no validation grid in experiments/out/r3-val-$t or $VAL_ARCHIVE (val-$t first)" >&2; exit 1; }
  pick="$(experiments/pick_lr.py "$vd") $NORM_NP"
  for s in $(seq "${FIRST:-201}" "${LAST:-210}"); do
    if [ ! -d "experiments/out/r3-test-$t-s$s" ] && have_task_finals "$t" "$s"; then
      echo "run-round3: r3-test-$t-s$s: every final is in experiments/r3-finals.csv: skipped"
      continue
    fi
    # shellcheck disable=SC2086
    $C $TASK --name "r3-test-$t-s$s" --methods "${METHODS:-$ALL_METHODS}" --seeds 1 \
       --first-seed "$s" --budget "$BUDGET" --jobs "$JOBS" --no-plot $COS $pick $ARGS \
       --set train.checkpoint_every=2000
  done
}

for t in t2 t3 t4a t4b t5; do
  eval "run_val-$t() { task_grid $t; }; run_edge-$t() { task_edge $t; }; run_test-$t() { task_test $t; }"
done

# ---- T6 (preregistration-round3.md, amendment of 2026-12-06): N_max sweep
# of ZO-NP on T1, N_max in T6_NMAX, the raw draw (zo.normalize = false).
# val-t6: lr {0.001, 0.002, 0.005} per N_max on T1's validation split, seeds
# 101-102, 157,500 queries (labels zo-np@nN@lrX in r3-val-t6); edge-t6: the
# edge rule once (0.0005 or 0.01), the grid rerun with every rate so far
# (finished runs reused); test-t6: seeds FIRST..LAST (201-205), 1,260,000
# queries, every N_max at its pick (labels zo-np@nN, one directory
# r3-test-t6-sSEED per seed, all N_max of a seed before the next seed),
# checkpoints every 2,000 iterations (an interrupted run resumes when the
# stage is run again).  Every run goes through experiments/zoptic-time
# (ZOPTIC, default build/zoptic, under /usr/bin/time -v): RUN/time.txt holds
# its peak RSS, one record per process (a resumed run: one per segment).
# T6_OUT (default experiments/out) and T6_VAL_BUDGET / T6_BUDGET exist for
# a smoke run of the mechanics only (tiny budgets, a temporary directory).
T6_NMAX=${T6_NMAX:-1 8 28 64 128 256 431}
T6_OUT=${T6_OUT:-experiments/out}
T6_VAL_BUDGET=${T6_VAL_BUDGET:-$VAL_BUDGET}
T6_BUDGET=${T6_BUDGET:-1260000}
# PICKS_T6: the validation picks once reported in docs/results.md (none
# yet), for a machine without r3-val-t6; "--method-set zo-np@n1:zo.lr=X ..."
PICKS_T6=${PICKS_T6:-}

t6_compare() { # compare arguments: T1, the raw draw, through zoptic-time
  # shellcheck disable=SC2086
  ZOPTIC_REAL=$(realpath "${ZOPTIC:-build/zoptic}") experiments/compare $T1 \
    --zoptic experiments/zoptic-time --no-plot $COS --set zo.normalize=false "$@"
}

t6_grid() { # [extra labels zo-np@nN@lrX]
  local methods="" sets=() n x m
  datasets/fetch.sh fashion-mnist >/dev/null 2>&1 || [ -f datasets/fashion-mnist/t10k-labels-idx1-ubyte.gz ]
  for n in $T6_NMAX; do for x in 0.001 0.002 0.005; do methods="$methods zo-np@n$n@lr$x"; done; done
  methods="$methods $*"
  for m in $methods; do
    n=${m#zo-np@n} x=${m##*@lr}
    sets+=(--method-set "$m:zo.n_max=${n%%@*}" --method-set "$m:zo.lr=$x")
  done
  # shellcheck disable=SC2086
  t6_compare --out "$T6_OUT/r3-val-t6" --methods "$(echo $methods | tr ' ' ',')" "${sets[@]}" \
    --ref "zo-np@n${T6_NMAX##* }@lr0.001" --seeds 2 --first-seed 101 --budget "$T6_VAL_BUDGET" \
    --jobs "$JOBS" $VAL_T1
  archive_val "$T6_OUT/r3-val-t6" r3-val-t6
}
run_val-t6() { t6_grid; }
run_edge-t6() {
  local extra n labels="" vd
  for n in $T6_NMAX; do labels="$labels zo-np@n$n"; done
  vd=$(val_dir "$T6_OUT/r3-val-t6" r3-val-t6)
  extra=$(edge_labels "$vd" "$labels" 0.001 0.005 0.0005 0.01 | not_run "$vd")
  [ -n "$extra" ] || { echo "run-round3: no T6 pick at a grid edge" >&2; return 0; }
  # shellcheck disable=SC2086
  t6_grid $extra
}

pick_t6() { # the per-N_max lr picks, "--method-set zo-np@nN:zo.lr=X ..."
  local vd
  vd=$(val_dir "$T6_OUT/r3-val-t6" r3-val-t6 2>/dev/null)
  if [ -f "$(grid_csv "$vd")" ]; then
    experiments/pick_lr.py "$vd" 2>/dev/null
  else
    echo "$PICKS_T6"
  fi
}

# Has experiments/r3-t6-finals.csv (r3_t6.py --update-finals) the final of
# every N_max at seed SEED, of a run that spent the budget?
have_t6_finals() { # SEED
  local n
  for n in $T6_NMAX; do
    awk -F, -v n="$n" -v s="$1" -v b="$T6_BUDGET" \
      '$1 == n && $2 == s && $4 + 0 >= b - 500 { f = 1 } END { exit !f }' \
      experiments/r3-t6-finals.csv 2>/dev/null || return 1
  done
}

run_test-t6() {
  local pick n s methods="" sets=()
  pick=$(pick_t6)
  for n in $T6_NMAX; do
    grep -q -- "zo-np@n$n:zo.lr=" <<<"$pick" ||
      { echo "run-round3: no T6 lr pick for N_max = $n (val-t6, edge-t6 first, or PICKS_T6)" >&2; exit 1; }
    methods="$methods,zo-np@n$n"
    sets+=(--method-set "zo-np@n$n:zo.n_max=$n")
  done
  for s in $(seq "${FIRST:-201}" "${LAST:-205}"); do
    if [ ! -d "$T6_OUT/r3-test-t6-s$s" ] && have_t6_finals "$s"; then
      echo "run-round3: r3-test-t6-s$s: every final is in experiments/r3-t6-finals.csv: skipped"
      continue
    fi
    # shellcheck disable=SC2086
    t6_compare --out "$T6_OUT/r3-test-t6-s$s" --methods "${methods#,}" "${sets[@]}" $pick \
      --ref "zo-np@n${T6_NMAX##* }" --seeds 1 --first-seed "$s" --budget "$T6_BUDGET" \
      --jobs "$JOBS" --set train.checkpoint_every=2000
  done
}

for x in "$@"; do "run_$x"; done
