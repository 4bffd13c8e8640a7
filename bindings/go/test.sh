#!/bin/sh
# The Go binding: go test in bindings/go against BUILD_DIR's libsvcc.a (as
# root its kernel part too, in a private network namespace), then README's
# Go example built and run as a program of its own would be.
# Usage: bindings/go/test.sh BUILD_DIR (make check-go, which gives SVCC_LDLIBS,
# the library's dependencies).  Ends with "go: N passed, M failed".
set -u
if ! command -v go > /dev/null; then
	echo "go: skipped (go is not installed: apt-get install golang-go)"
	exit 0
fi
top=$(pwd)
build=$(cd "${1:-build}" && pwd) || exit 1
pass=0 fail=0
ok()  { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*"; }

# cgo against the tree: the header here, the static library of this build;
# Go's cache and module path inside the build (CI runs as root, HOME or not);
# no network: the module has no dependencies
# Go's cache keys on CGO_CFLAGS but not on headers outside the package:
# the header's checksum in them rebuilds the binding when svcc.h changes
hdr="-DSVCC_H_SUM=$(cksum < include/svcc.h | cut -d' ' -f1)"
export CGO_ENABLED=1 CGO_CFLAGS="-I$top/include $hdr" \
	CGO_LDFLAGS="$build/libsvcc.a ${SVCC_LDLIBS:-$(pkg-config --libs libnftnl libmnl libnftables libnetfilter_conntrack jansson yaml-0.1) -pthread}" \
	GOCACHE="$build/go/cache" GOPATH="$build/go/path" GOFLAGS=-mod=mod GOPROXY=off GOTOOLCHAIN=local
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# cgocheck=2: every pointer passed to C checked against cgo's rules
(cd bindings/go && go vet -tags svcc_local . && GODEBUG=cgocheck=2 go test -tags svcc_local -count=1 -v .) > "$tmp/test.out" 2>&1
rc=$?
# each test and subtest (the kernel ones as the namespace's child reports them)
p=$(grep -c -- '--- PASS' "$tmp/test.out")
f=$(grep -c -- '--- FAIL' "$tmp/test.out")
s=$(grep -c -- '--- SKIP' "$tmp/test.out")
pass=$((pass + p)) fail=$((fail + f))
if [ $rc -ne 0 ] || [ "$p" -lt 80 ]; then
	bad "go test (exit $rc, $p passed):"; grep -v '^ *--- PASS\|^=== RUN' "$tmp/test.out" | head -80
fi
[ "$s" -gt 0 ] && grep -A1 -- '--- SKIP' "$tmp/test.out" | sed 's/^ */skipped: /'
# the same tests under valgrind (the kernel part's child too): no C memory
# lost, none freed twice; Go's own runtime makes memcheck errors of its own,
# so only the leak summaries and invalid frees count
if ! command -v valgrind > /dev/null; then
	bad "valgrind is not installed (apt-get install valgrind)"
elif ! (cd bindings/go && go test -c -tags svcc_local -o "$tmp/svcc.test" . &&
	valgrind --trace-children=yes --leak-check=full --errors-for-leak-kinds=definite \
		--show-leak-kinds=definite "$tmp/svcc.test" -test.count=1) > "$tmp/vg.out" 2>&1; then
	bad "go test under valgrind:"; grep -v '^==' "$tmp/vg.out" | tail -20
elif grep -q 'definitely lost: [1-9]\|Invalid free\|Mismatched free' "$tmp/vg.out" ||
	! grep -q 'definitely lost: 0 bytes' "$tmp/vg.out"; then
	bad "C memory lost or freed wrongly under valgrind:"
	grep -B2 -A20 'definitely lost in\|Invalid free\|Mismatched free' "$tmp/vg.out" | head -60
else
	ok
fi
[ -z "$(gofmt -l bindings/go)" ] && ok || bad "gofmt: $(gofmt -l bindings/go)"

# README's Go example, as a module of its own that requires this one
mkdir -p "$tmp/example"
sed -n '/^```go$/,/^```$/p' README.md | sed '1d;$d' > "$tmp/example/main.go"
cat > "$tmp/example/go.mod" <<MOD
module example

go 1.19

require svcc v0.0.0

replace svcc => $top/bindings/go
MOD
if [ ! -s "$tmp/example/main.go" ]; then
	bad "README has no Go example"
elif (cd "$tmp/example" && go build -tags svcc_local -o example . && ./example) > "$tmp/ex.out" 2> "$tmp/ex.err" &&
	cmp -s "$tmp/ex.out" examples/minimal.nft; then
	ok
else
	bad "README's Go example does not print examples/minimal.nft:"; cat "$tmp/ex.err"; diff examples/minimal.nft "$tmp/ex.out" | head -20
fi
# the same program against the installed library, as the binding links by
# default: pkg-config svcc, libsvcc.so.  Installed at the same place each
# time: Go's cache keys on neither PKG_CONFIG_PATH nor pkg-config's answer
inst=$build/go/inst
rm -rf "$inst"
if ! make -s install BUILD="$build" PREFIX="$inst" > "$tmp/install.out" 2>&1; then
	bad "make install:"; cat "$tmp/install.out"
elif (cd "$tmp/example" && env -u CGO_LDFLAGS CGO_CFLAGS="$hdr" PKG_CONFIG_PATH="$inst/lib/pkgconfig" \
	go build -o example-installed . && LD_LIBRARY_PATH="$inst/lib" ./example-installed) > "$tmp/ex.out" 2> "$tmp/ex.err" &&
	cmp -s "$tmp/ex.out" examples/minimal.nft; then
	ok
else
	bad "README's Go example against the installed libsvcc.so:"; cat "$tmp/ex.err"; diff examples/minimal.nft "$tmp/ex.out" | head -20
fi
echo "go: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
