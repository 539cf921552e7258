#!/usr/bin/env bash
# The layering of src/ (docs/architecture.md): every module has a rank and
# may include headers only of modules of LOWER rank (no upward edge, no
# edge between modules of the same rank, hence no circle between modules);
# the umbrella zoptic.h is for programs only.  Within the library, the
# source files must not call each other in a circle either (read from the
# built objects' symbols): a circle means two files are one unit in
# disguise, or a lower file asks a higher one (as model.c once asked conv.c
# about fusion).  tests/zo_boundary_test.sh keeps its own, stricter rule
# for src/zo.
set -u
cd "$(dirname "$0")/.."
B="${BUILD:-build}"
fails=0
fail() { echo "FAIL: $*" >&2; fails=$((fails + 1)); }

# rank of each module; programs (cli, chipd, mpi) sit on top
declare -A rank=([core]=0 [zo]=1 [data]=1 [nn]=2 [hw]=2 [mzi]=3 [io]=4 [tasks]=5
                 [api]=6 [cli]=7 [chipd]=7 [mpi]=8)
PROGRAM_RANK=7

# module -> module edges from #include "module/..." lines
edges() { # prints "FILE:LINE from to"
  local f m line t
  for f in src/*/*.c src/*/*.h; do
    [ -e "$f" ] || continue
    m=$(basename "$(dirname "$f")")
    grep -nE '^[[:space:]]*#[[:space:]]*include[[:space:]]*"([a-z_]+)/' "$f" |
      sed -E 's/^([0-9]+):[[:space:]]*#[[:space:]]*include[[:space:]]*"([a-z_]+)\/.*/\1 \2/' |
      while read -r line t; do
        [ "$t" = "$m" ] || echo "$f:$line $m $t"
      done
  done
}
# the checker must catch an upward edge (cannot pass vacuously)
check_edge() { # FROM TO -> 0 if allowed
  local a=${rank[$1]:-} b=${rank[$2]:-}
  [ -n "$a" ] && [ -n "$b" ] && [ "$b" -lt "$a" ]
}
check_edge nn core && check_edge io mzi && check_edge tasks io && ! check_edge io tasks \
  && ! check_edge core nn && ! check_edge zo data \
  && ! check_edge nn mzi && ! check_edge cli mpi \
  || { echo "layering_test: the rank check no longer tells right from wrong" >&2; exit 1; }

n_edges=0
while read -r where from to; do
  n_edges=$((n_edges + 1))
  [ -n "${rank[$from]:-}" ] || { fail "$where: module '$from' has no rank (add it to tests/layering_test.sh and docs/architecture.md)"; continue; }
  [ -n "${rank[$to]:-}" ] || { fail "$where: includes module '$to', which has no rank"; continue; }
  check_edge "$from" "$to" ||
    fail "$where: $from (rank ${rank[$from]}) includes $to (rank ${rank[$to]}): an upward or sideways edge"
done < <(edges)
[ "$n_edges" -gt 20 ] || fail "only $n_edges include edges between modules found: the scan is broken"

# the umbrella header only in programs
while IFS= read -r hit; do
  f=${hit%%:*}; m=$(basename "$(dirname "$f")")
  [ "${rank[$m]:-0}" -ge "$PROGRAM_RANK" ] || fail "$hit: zoptic.h (the umbrella) included below the programs"
done < <(grep -nE '^[[:space:]]*#[[:space:]]*include[[:space:]]*"zoptic\.h"' src/*/*.c src/*/*.h 2>/dev/null)

# circles between library source files, from the objects' symbols
if ! command -v nm >/dev/null || ! command -v python3 >/dev/null; then
  echo "SKIP file circles: nm or python3 missing"
elif ! ls "$B"/src/core/*.o >/dev/null 2>&1; then
  echo "SKIP file circles: no objects in $B/src (build first)"
else
  # A known circle that is left to its owner is listed here with a reason.
  allowed="" # none today
  out=$(python3 - "$B" "$allowed" <<'PY'
import glob, os, subprocess, sys
B, allowed = sys.argv[1], {tuple(a.split()) for a in sys.argv[2].split(';') if a.strip()}
objs = [o for o in sorted(glob.glob(B + '/src/*/*.o'))
        if o.split('/')[-2] not in ('cli', 'chipd', 'mpi')]
defs, refs = {}, {}
for o in objs:
    name = os.path.relpath(o, B + '/src')[:-2]
    refs[name] = set()
    for line in subprocess.run(['nm', o], capture_output=True, text=True).stdout.splitlines():
        p = line.split()
        if len(p) == 3 and p[1] in 'TDBRCVW':
            defs[p[2]] = name
        elif len(p) == 2 and p[0] == 'U':
            refs[name].add(p[1])
g = {n: sorted({defs[s] for s in r if s in defs and defs[s] != n}) for n, r in refs.items()}
index, low, stack, on, sccs = {}, {}, [], set(), []
def visit(v):
    index[v] = low[v] = len(index); stack.append(v); on.add(v)
    for w in g[v]:
        if w not in index:
            visit(w); low[v] = min(low[v], low[w])
        elif w in on:
            low[v] = min(low[v], index[w])
    if low[v] == index[v]:
        comp = []
        while True:
            w = stack.pop(); on.discard(w); comp.append(w)
            if w == v: break
        if len(comp) > 1: sccs.append(tuple(sorted(comp)))
sys.setrecursionlimit(100000)
for v in g:
    if v not in index: visit(v)
print('objects', len(objs))
for c in sccs:
    print(('allowed ' if c in allowed else 'circle ') + ' '.join(c))
PY
  ) || fail "the symbol scan failed"
  n=$(sed -n 's/^objects //p' <<<"$out")
  [ "${n:-0}" -gt 20 ] || fail "only ${n:-0} objects scanned in $B/src"
  while read -r kind rest; do
    case $kind in
      circle) fail "source files calling each other in a circle: $rest" ;;
      allowed) echo "note: known circle left to its owner: $rest" ;;
    esac
  done <<<"$out"
fi
[ "$fails" -eq 0 ] || { echo "$fails failure(s)" >&2; exit 1; }
echo "layering: $n_edges include edges between modules, all downward; no file circle"
