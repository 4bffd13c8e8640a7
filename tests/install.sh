#!/bin/sh
# `make install` into a scratch prefix: the command, the manual pages and the
# bash completion are where they belong; the README's C example builds against
# it with pkg-config, statically and dynamically, and prints a ruleset.
# Usage: tests/install.sh [BUILD_DIR].
set -u
build=${1:-build}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
pass=0 fail=0
make -s install BUILD="$build" PREFIX="$tmp/usr" > /dev/null || { echo "install: 0 passed, 1 failed"; exit 1; }
for f in bin/svcc:"$build/svcc" share/man/man1/svcc.1:man/svcc.1 share/man/man3/libsvcc.3:man/libsvcc.3 \
	 share/man/man5/svc.5:man/svc.5 share/bash-completion/completions/svcc:contrib/bash-completion/svcc; do
	if cmp -s "$tmp/usr/${f%%:*}" "${f#*:}"; then pass=$((pass + 1)); else
		fail=$((fail + 1)); echo "FAIL: installed ${f%%:*} is not ${f#*:}"; fi
done
if MANPATH="$tmp/usr/share/man" man -w svc.5 2>/dev/null | grep -q "^$tmp/usr/share/man/man5/svc.5" ||
   ! command -v man > /dev/null; then pass=$((pass + 1)); else fail=$((fail + 1)); echo "FAIL: man -w svc.5"; fi
export PKG_CONFIG_PATH="$tmp/usr/lib/pkgconfig"
if cc -Wall -Werror examples/embed.c $(pkg-config --cflags --libs svcc) -o "$tmp/embed-dyn" &&
   LD_LIBRARY_PATH="$tmp/usr/lib" "$tmp/embed-dyn" | grep -q 'goto svc-default/web/tcp/80'; then
	pass=$((pass + 1))
else
	fail=$((fail + 1)); echo "FAIL: embed.c against libsvcc.so"
fi
if cc -Wall -Werror examples/embed.c $(pkg-config --cflags svcc) "$tmp/usr/lib/libsvcc.a" \
	$(pkg-config --libs libnftnl libmnl libnftables) -o "$tmp/embed-static" &&
   "$tmp/embed-static" | grep -q 'goto svc-default/web/tcp/80'; then
	pass=$((pass + 1))
else
	fail=$((fail + 1)); echo "FAIL: embed.c against libsvcc.a"
fi
echo "install: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
