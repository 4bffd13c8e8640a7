#!/bin/sh
# svcc import-k8s: the sample cluster and the edge cases give their reviewed
# .svc and warnings; bad input and bad usage fail as they should.
# Usage: tests/import/run.sh BUILD_DIR (builds nothing).  Ends with
# "import: N passed, M failed".
set -u
build=${1:-build}
svcc=$build/svcc
dir=tests/import
pass=0 fail=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

ok()  { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: import: $*"; }

# import WANT.svc WANT.warnings ARGS...: exit 0, exactly that stdout and stderr
golden() {
	want_out=$1 want_err=$2
	shift 2
	"$svcc" import-k8s "$@" > "$tmp/out" 2> "$tmp/err"
	rc=$?
	if [ $rc -ne 0 ]; then bad "'$*' exited $rc, want 0"; cat "$tmp/err"; return; fi
	if diff -u "$want_out" "$tmp/out" > "$tmp/diff"; then ok; else bad "$want_out"; head -40 "$tmp/diff"; fi
	if diff -u "$want_err" "$tmp/err" > "$tmp/diff"; then ok; else bad "$want_err"; head -40 "$tmp/diff"; fi
}

# fails RC 'FIRST LINE OF STDERR' ARGS...: that exit, that message, nothing on stdout
fails() {
	want_rc=$1 want_msg=$2
	shift 2
	"$svcc" import-k8s "$@" > "$tmp/out" 2> "$tmp/err"
	rc=$?
	got=$(head -n 1 "$tmp/err")
	if [ $rc -ne "$want_rc" ]; then
		bad "'$*' exited $rc, want $want_rc"
	elif [ "$got" != "$want_msg" ]; then
		bad "'$*' said '$got', want '$want_msg'"
	elif [ -s "$tmp/out" ]; then
		bad "'$*' printed to stdout"
	else
		ok
	fi
}

svcs=examples/k8s/services.json
slices=examples/k8s/endpointslices.json

# the sample cluster, and the corner cases it does not have
golden examples/k8s/cluster.svc examples/k8s/cluster.warnings "$svcs" "$slices" --node node-a
golden $dir/edge.svc $dir/edge.warnings $dir/edge-services.json $dir/edge-endpointslices.json \
	--node n1 --pod-cidr 10.244.0.0/16 --pod-cidr fd00:10:244::/56 \
	--service-cidr 10.96.0.0/12 --node-ip 192.168.1.10
# what Kubernetes' own validation refuses: warned about, and skipped or ignored
golden $dir/checks.svc $dir/checks.warnings $dir/checks-services.json $dir/checks-endpointslices.json \
	--pod-cidr 10.244.0.0/16 --pod-cidr fd00:244::/56

# one clusterIP given to two services (a stale or hand-made dump): the first by name keeps it
golden $dir/dup-vip.svc $dir/dup-vip.warnings $dir/dup-vip-services.json $dir/dup-vip-endpointslices.json \
	--pod-cidr 10.244.0.0/16

# this node's zone: statsd (trafficDistribution PreferClose, zone hints) keeps
# to eu-west-1a's endpoint once compiled
golden $dir/zone.svc $dir/zone.warnings "$svcs" "$slices" --node node-a --zone eu-west-1a
"$svcc" compile $dir/zone.svc > "$tmp/zone.nft" 2>&1
if grep -q '10.244.0.90 ' "$tmp/zone.nft" && ! grep -q '10.244.[12].90 ' "$tmp/zone.nft"; then ok; else
	bad "--zone: statsd should use its zone's endpoint only"; fi

# --detect-local: pods told by their bridge (kube-proxy's BridgeInterface)
golden $dir/detect.svc $dir/detect.warnings "$svcs" "$slices" --node node-a --detect-local bridge=cni0
fails 2 "import-k8s: --detect-local: one mode only" "$svcs" "$slices" \
	--detect-local bridge=cni0 --detect-local node-cidr=10.244.1.0/24
fails 2 "import-k8s: --detect-local: expected bridge=IFNAME, interface-prefix=PREFIX or node-cidr=CIDR, not 'bridge=a/b'" \
	"$svcs" "$slices" --detect-local bridge=a/b

# what it writes, svcc compiles without a word
for f in examples/k8s/cluster.svc $dir/edge.svc $dir/checks.svc $dir/dup-vip.svc $dir/zone.svc $dir/detect.svc; do
	if "$svcc" check "$f" > "$tmp/out" 2>&1 && [ ! -s "$tmp/out" ]; then ok
	else bad "svcc check $f"; cat "$tmp/out"; fi
done

# the output does not depend on the order of the items (jq, a declared
# dependency, or python3 reverses them; without either the test fails)
reverse='import json,sys; d=json.load(open(sys.argv[1])); d["items"].reverse(); json.dump(d, sys.stdout)'
for f in "$svcs" "$slices"; do
	if command -v jq > /dev/null; then
		jq '.items |= reverse' "$f" > "$tmp/rev-$(basename "$f")"
	elif command -v python3 > /dev/null; then
		python3 -c "$reverse" "$f" > "$tmp/rev-$(basename "$f")"
	fi
done
if [ -s "$tmp/rev-services.json" ] && [ -s "$tmp/rev-endpointslices.json" ]; then
	"$svcc" import-k8s "$tmp/rev-services.json" "$tmp/rev-endpointslices.json" --node node-a \
		> "$tmp/rev.svc" 2> /dev/null
	if cmp -s examples/k8s/cluster.svc "$tmp/rev.svc"; then ok
	else bad "output depends on item order"; diff -u examples/k8s/cluster.svc "$tmp/rev.svc" | head -20; fi
else
	bad "order test: neither jq nor python3 reversed the items (apt-get install jq)"
fi

# bad input: exit 1, the file named, nothing on stdout
fails 1 "import-k8s: $tmp/missing.json: No such file or directory" "$tmp/missing.json" "$slices"
fails 1 "import-k8s: $dir: Is a directory" "$svcs" "$dir"
fails 1 "import-k8s: $dir/invalid.json:5:30: string or '}' expected near '}'" $dir/invalid.json "$slices"
fails 1 "import-k8s: $dir/duplicate-key.json:4:10: duplicate object key near '\"kind\"'" \
	"$svcs" $dir/duplicate-key.json
fails 1 "import-k8s: $dir/not-a-list.json: not a List of Services (kind Service)" \
	$dir/not-a-list.json "$slices"
fails 1 "import-k8s: $slices: items[0]: kind EndpointSlice, expected Service" "$slices" "$svcs"

# bad usage: exit 2
fails 2 "import-k8s: expected SERVICES.json and ENDPOINTSLICES.json"
fails 2 "import-k8s: expected SERVICES.json and ENDPOINTSLICES.json" "$svcs"
fails 2 "import-k8s: unknown option '--bogus'" --bogus "$svcs" "$slices"
fails 2 "import-k8s: option '--node' needs an argument" "$svcs" "$slices" --node
fails 2 "import-k8s: --pod-cidr: invalid CIDR '10.244.0.0'" "$svcs" "$slices" --pod-cidr 10.244.0.0
fails 2 "import-k8s: --service-cidr: 10.96.0.1/12 has bits set past the prefix" \
	"$svcs" "$slices" --service-cidr 10.96.0.1/12
if "$svcc" import-k8s --help 2> /dev/null | grep -q '^usage: svcc import-k8s'; then ok; else bad "--help"; fi

echo "import: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
