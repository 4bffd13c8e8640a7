#!/bin/sh
# `make install` into a scratch prefix; the README's C example builds against
# it with pkg-config, statically and dynamically, and prints a ruleset.
set -u
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
pass=0 fail=0
make -s install PREFIX="$tmp/usr" > /dev/null || { echo "install: 0 passed, 1 failed"; exit 1; }
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
