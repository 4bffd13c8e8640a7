#!/bin/sh
# libsvcc.so exports exactly the functions include/svcc.h declares (SVCC_API),
# each in version LIBSVCC_0 (libsvcc.map), and svcc_version() says the
# header's version.  Usage: tests/exports.sh BUILD_DIR.  Ends with "N passed, M failed".
set -u
# shellcheck source=tests/lib.sh
. tests/lib.sh

if ! command -v nm > /dev/null; then
	echo "FAIL: nm is not installed (apt-get install binutils)"; echo "exports: 0 passed, 1 failed"; exit 1
fi
# declared: the name after SVCC_API on each declaration's first line
sed -n 's/^SVCC_API[^(]*[ *]\(svcc_[a-z0-9_]*\)(.*/\1/p' include/svcc.h | sort > "$tmp/declared"
# a prototype without SVCC_API would be declared but not exported
grep -n '^[a-z][a-z0-9_ *]*[ *]svcc_[a-z0-9_]*(' include/svcc.h > "$tmp/plain"
if [ -s "$tmp/plain" ]; then bad "declared without SVCC_API:"; cat "$tmp/plain"; else ok; fi
[ "$(wc -l < "$tmp/declared")" -ge 50 ] && ok || bad "only $(wc -l < "$tmp/declared") declarations found in include/svcc.h"

nm -D --defined-only "$build/libsvcc.so" > "$tmp/nm" || { bad "nm -D $build/libsvcc.so"; exit 1; }
# "ADDR T svcc_x@@LIBSVCC_0": functions and their version; the version node itself is "A LIBSVCC_0"
awk '$2 != "A" || $3 != "LIBSVCC_0" { print $3 }' "$tmp/nm" | sort > "$tmp/exported.v"
sed 's/@.*//' "$tmp/exported.v" > "$tmp/exported"
if diff -u "$tmp/declared" "$tmp/exported" > "$tmp/diff"; then ok; else
	bad "libsvcc.so exports other than the header declares (- declared only, + exported only):"
	cat "$tmp/diff"; fi
if ! grep -v '@@LIBSVCC_0$' "$tmp/exported.v" > "$tmp/unversioned"; then ok; else
	bad "exported outside version LIBSVCC_0:"; cat "$tmp/unversioned"; fi
if awk '$2 != "T" && !($2 == "A" && $3 == "LIBSVCC_0") { exit 1 }' "$tmp/nm"; then ok; else
	bad "libsvcc.so exports data, not only functions"; fi
if objdump -p "$build/libsvcc.so" | grep -q 'SONAME *libsvcc\.so\.0$'; then ok; else bad "soname is not libsvcc.so.0"; fi

# svcc_version() at run time is the header's SVCC_VERSION
cat > "$tmp/v.c" <<'C'
#include <stdio.h>
#include <string.h>
#include <svcc.h>
int main(void) { puts(svcc_version()); return strcmp(svcc_version(), SVCC_VERSION) != 0; }
C
ln -s "$(cd "$build" && pwd)/libsvcc.so" "$tmp/libsvcc.so.0"
# a library built with SAN=1 needs its runtime first in the program
san=
if nm -D --undefined-only "$build/libsvcc.so" | grep -q ' __asan_init'; then san=-fsanitize=address,undefined; fi
if ${CC:-cc} $san -Iinclude -o "$tmp/v" "$tmp/v.c" "$tmp/libsvcc.so.0" -Wl,-rpath,"$tmp" &&
   [ "$("$tmp/v")" = "$(sed -n 's/^#define SVCC_VERSION "\(.*\)"/\1/p' include/svcc.h)" ]; then ok; else
	bad "svcc_version() is not the header's SVCC_VERSION"; fi
echo "exports: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
