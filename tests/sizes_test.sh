#!/usr/bin/env bash
# Sizes in src/ (issue 15; docs/architecture.md): no source file over 600
# lines and no function over 100 lines (from the first line of its
# signature to its closing brace).  Functions are found by an awk scan of
# the code style the tree follows (a definition starts at column 0 and its
# body closes with "}" at column 0), cross-checked with universal ctags
# when it is installed.  Prints the longest file and function either way.
set -u
cd "$(dirname "$0")/.."
MAX_FILE=${MAX_FILE:-600}
MAX_FN=${MAX_FN:-100}
fails=0
fail() { echo "FAIL: $*" >&2; fails=$((fails + 1)); }

# FILE... -> "LINES FILE:START NAME" for every function definition
functions() {
  awk '
    FNR == 1 { infn = 0; cand = 0 }
    !infn && /^[A-Za-z_][^;]*\(/ && !/^#/ {     # a signature starts at column 0
      start = FNR; cand = 1
      name = $0; gsub(/__attribute__\(\([^)]*\)\)/, "", name)
      sub(/\(.*/, "", name); sub(/.*[ *]/, "", name)
    }
    cand && !infn && /;[[:space:]]*$/ { cand = 0 }   # a declaration, not a definition
    cand && !infn && /\)[[:space:]]*\{.*\}[[:space:]]*$/ {   # a one-line body
      print FNR - start + 1, FILENAME ":" start, name; cand = 0; next
    }
    cand && !infn && /\{[[:space:]]*$/ { infn = 1; cand = 0; next }
    infn && /^}/ { print FNR - start + 1, FILENAME ":" start, name; infn = 0 }
  ' "$@"
}

# the scanner must see a long function and skip prototypes and tables
T="$(mktemp -d "${TMPDIR:-/tmp}/zoptic-sizes-XXXXXX")"
trap 'rm -rf "$T"' EXIT
{ echo 'static int proto(int a,'; echo '                 int b);'
  echo 'static const int table[] = {'; echo '  1, 2,'; echo '};'
  echo 'int long_one(int a,'; echo '             int b) {'
  for i in $(seq 1 $((MAX_FN - 3))); do echo "  a += b; /* { */"; done
  echo '  return a;'; echo '}'
  echo 'static void short_one(void) {'; echo '  if (1) {'; echo '  }'; echo '}'; } > "$T/probe.c"
probe=$(functions "$T/probe.c")
[ "$(wc -l <<<"$probe")" -eq 2 ] && grep -q "^$((MAX_FN + 1)) $T/probe.c:6 long_one$" <<<"$probe" &&
  grep -q "^4 $T/probe.c:$((MAX_FN + 7)) short_one$" <<<"$probe" ||
  fail "the function scanner misreads its probe: $probe"

files=$(find src/ -name '*.[ch]' | sort)
# files
longest_file=$(wc -l $files | grep -v ' total$' | sort -n | tail -n 1 | awk '{ print $2 ", " $1 }')
while read -r n f; do
  [ "$n" -le "$MAX_FILE" ] || fail "$f has $n lines (at most $MAX_FILE)"
done < <(wc -l $files | grep -v ' total$')
# functions
fns=$(functions $files)
[ "$(wc -l <<<"$fns")" -gt 500 ] || fail "only $(wc -l <<<"$fns") functions found in src: the scanner is broken"
while read -r n where name; do
  [ "$n" -le "$MAX_FN" ] || fail "$where $name has $n lines (at most $MAX_FN)"
done <<<"$fns"
longest_fn=$(sort -n <<<"$fns" | tail -n 1)
# universal ctags, when installed, finds the functions its own way: none
# of them may be too long either, and it must agree on the longest
if ctags --version 2>/dev/null | grep -q 'Universal Ctags'; then
  ct=$(ctags --fields=+ne --c-kinds=f -o - $(grep '\.c$' <<<"$files") |
       awk -F'\t' '{ l = e = ""; for (i = 4; i <= NF; i++) { if ($i ~ /^line:/) l = substr($i, 6); if ($i ~ /^end:/) e = substr($i, 5) }
                     if (l != "" && e != "") print e - l + 1, $2 ":" l, $1 }')
  while read -r n where name; do
    [ "$n" -le "$MAX_FN" ] || grep -q " $where " <<<"$fns" ||
      fail "$where $name has $n lines (at most $MAX_FN; found by ctags only)"
  done <<<"$ct"
  [ "$(sort -n <<<"$ct" | tail -n 1 | cut -d' ' -f1,2)" = "$(cut -d' ' -f1,2 <<<"$longest_fn")" ] ||
    fail "ctags finds another longest function: $(sort -n <<<"$ct" | tail -n 1) (scanner: $longest_fn)"
fi
echo "longest file: $longest_file lines; longest function: $(awk '{ print $2 " " $3 ", " $1 }' <<<"$longest_fn") lines"
[ "$fails" -eq 0 ] || { echo "$fails failure(s)" >&2; exit 1; }
echo "sizes: ok (files <= $MAX_FILE lines, functions <= $MAX_FN lines)"
