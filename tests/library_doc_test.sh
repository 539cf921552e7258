#!/usr/bin/env bash
# docs/library.md must not lie: every ```c block in it is compiled as its own
# translation unit against the public headers as installed ($BUILD/include,
# staged by the Makefile exactly as `make install` writes them) with
# -Wall -Wextra -Werror, linked against $BUILD/libzoptic.so, and, when it has
# a main(), run — it must exit 0 (the blocks check their own results).
# Every function named in the "functions a program needs" table must be
# declared in the installed headers.
set -u
cd "$(dirname "$0")/.."
B=${BUILD:-build}
DOC=docs/library.md
fail() { echo "FAIL: $*"; exit 1; }
[ -f "$B/include/zoptic/zoptic.h" ] || fail "$B/include/zoptic (staged headers) missing: run make check"
[ -e "$B/libzoptic.so" ] || fail "$B/libzoptic.so missing"
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
SAN=""
case "$B" in build-asan*) SAN="-fsanitize=address,undefined";; esac

awk -v dir="$T" '
  /^```c[[:space:]]*$/ { n++; f = sprintf("%s/block%02d.c", dir, n); inb = 1; next }
  /^```/ && inb { inb = 0; close(f); next }
  inb { print > f }' "$DOC"
blocks=("$T"/block*.c)
[ "${#blocks[@]}" -ge 4 ] && [ -e "${blocks[0]}" ] || fail "$DOC: expected at least 4 C blocks, found ${#blocks[@]}"
PC=$(pkg-config --cflags gsl hdf5) || fail "pkg-config gsl hdf5"
ran=0
for f in "${blocks[@]}"; do
  # shellcheck disable=SC2086
  if grep -q '^int main' "$f"; then
    cc -std=c11 -Wall -Wextra -Werror $SAN -I"$B/include" $PC "$f" -L"$B" -Wl,-rpath,"$PWD/$B" \
      -lzoptic -lpthread -lm -o "${f%.c}" 2>"$T/err" || fail "$DOC block $(basename "$f"): $(head -n 8 "$T/err")"
    out=$("${f%.c}" 2>&1) || fail "$DOC block $(basename "$f") exited non-zero: $out"
    ran=$((ran + 1))
  else
    cc -std=c11 -Wall -Wextra -Werror $SAN -I"$B/include" $PC -c "$f" -o "${f%.c}.o" 2>"$T/err" ||
      fail "$DOC block $(basename "$f"): $(head -n 8 "$T/err")"
  fi
done
[ $ran -ge 3 ] || fail "$DOC: only $ran blocks have a main() to run"

# the table of functions: each `zpt_...(` name must be declared in an installed header
names=$(sed -n '/^## The functions a program needs/,/^## /p' "$DOC" | grep -oE 'zpt_[a-z_0-9]+' | sort -u)
[ "$(wc -w <<<"$names")" -ge 10 ] || fail "$DOC: the function table names fewer than 10 functions"
for n in $names; do
  grep -rqE "\b$n\(" "$B/include/zoptic" || fail "$DOC names $n, which no installed header declares"
done
echo "library_doc_test: ${#blocks[@]} C blocks compiled, $ran run; $(wc -w <<<"$names") functions found"
