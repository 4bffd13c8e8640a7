#!/bin/sh
# The Debian package (run by .ci/run after make test; root, a Debian 12
# machine with debhelper and lintian): build svcc, libsvcc0 and libsvcc-dev
# from a copy of the tree, lintian finds no error, the packages install, and
# the installed command and library work: svcc compile gives the golden
# output, the C example builds with pkg-config (shared and static) and runs.
set -u
if [ "$(id -u)" != 0 ] || ! command -v dpkg-buildpackage > /dev/null; then
	echo "deb.sh: needs root and dpkg-buildpackage (skipped)"; exit 77
fi
tmp=$(mktemp -d)
pkgs="svcc libsvcc0 libsvcc-dev"
trap 'dpkg --purge $pkgs > /dev/null 2>&1; rm -rf "$tmp"' EXIT
pass=0 fail=0
ok()     { pass=$((pass + 1)); echo "ok   - $*"; }
not_ok() { fail=$((fail + 1)); echo "FAIL - $*"; }
check()  { d=$1; shift; if "$@"; then ok "$d"; else not_ok "$d"; fi; }

# the tracked files as they are in the working tree, nothing built
mkdir "$tmp/svcc"
git ls-files -z | xargs -0 cp --parents -t "$tmp/svcc" || exit 1
if (cd "$tmp/svcc" && dpkg-buildpackage -us -uc -b) > "$tmp/build.log" 2>&1; then
	ok "dpkg-buildpackage -us -uc -b"
else
	not_ok "dpkg-buildpackage -us -uc -b"; tail -30 "$tmp/build.log"
fi
lintian --fail-on error "$tmp"/svcc_*.changes > "$tmp/lintian.log" 2>&1
rc=$?
grep -v '^running with root' "$tmp/lintian.log" | sed 's/^/    | /' 
check "lintian: no errors" [ "$rc" = 0 ]
if dpkg -i "$tmp"/svcc_*.deb "$tmp"/libsvcc0_*.deb "$tmp"/libsvcc-dev_*.deb > "$tmp/dpkg.log" 2>&1; then
	ok "the three packages install"
else
	not_ok "the three packages install"; cat "$tmp/dpkg.log"
fi
check "/usr/bin/svcc compile examples/minimal.svc gives the golden output" \
	sh -c '/usr/bin/svcc compile examples/minimal.svc | cmp -s - examples/minimal.nft'
check "the C example builds against the installed libsvcc.so and runs" \
	sh -c "cc -Wall -Werror examples/embed.c \$(pkg-config --cflags --libs svcc) -o '$tmp/embed' &&
	       '$tmp/embed' | grep -q 'goto svc-default/web/tcp/80' &&
	       ldd '$tmp/embed' | grep -q 'libsvcc.so.0 => /'"
check "the C example builds against the installed libsvcc.a and runs" \
	sh -c "cc -Wall -Werror examples/embed.c -static-libgcc \$(pkg-config --cflags svcc) \
	       \$(pkg-config --variable=libdir svcc)/libsvcc.a \$(pkg-config --libs --static libnftnl libmnl libnftables libnetfilter_conntrack) \
	       -pthread -o '$tmp/embed-static' && '$tmp/embed-static' | grep -q 'goto svc-default/web/tcp/80'"
for page in svcc.1 svc.5 libsvcc.3; do
	if [ -f "man/$page" ]; then
		check "man page $page installed" sh -c "man -w ${page%.*} > /dev/null 2>&1 || ls /usr/share/man/man*/$page* > /dev/null 2>&1"
	fi
done
echo "deb: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
