#!/bin/sh
# svcc import-k8s: the sample cluster and the edge cases give their reviewed
# .svc and warnings, whatever the form of the input (JSON or YAML, Lists of
# any kind, single objects, YAML streams, many files, stdin); bad input and
# bad usage fail as they should.
# Usage: tests/import/run.sh BUILD_DIR (builds nothing).  Ends with
# "import: N passed, M failed".
set -u
# shellcheck source=tests/lib.sh
. tests/lib.sh
dir=tests/import

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

# the sample's warnings into $tmp/want-err, as they name FILE for the
# Services and SLICES (FILE when not given) for the EndpointSlices
sample_warnings() {
	sed -e "s|examples/k8s/services\.json|$1|" -e "s|examples/k8s/endpointslices\.json|${2:-$1}|" \
		examples/k8s/cluster.warnings > "$tmp/want-err"
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
fails 2 "import-k8s: option pod-bridge: invalid interface name 'a/b'" \
	"$svcs" "$slices" --detect-local bridge=a/b
fails 2 "import-k8s: --detect-local: expected bridge=IFNAME, interface-prefix=PREFIX or node-cidr=CIDR, not 'pod-cidr=x'" \
	"$svcs" "$slices" --detect-local pod-cidr=x
fails 2 "import-k8s: option node-name: invalid node name '-a'" "$svcs" "$slices" --node=-a

# ---- the forms of input: each gives the sample's config, or shop.svc ----
# YAML: `kubectl get services,endpointslices -A -o yaml`, one List of both kinds
sample_warnings $dir/cluster.yaml
golden examples/k8s/cluster.svc "$tmp/want-err" $dir/cluster.yaml --node node-a
# a YAML stream, one object a document (and an empty one at the end)
golden $dir/shop.svc $dir/shop.warnings $dir/shop-stream.yaml --node node-a
# the same objects as a single object (YAML), an EndpointSliceList whose items
# say no kind (YAML), and a List with no kind at all mixing both (JSON)
golden $dir/shop.svc /dev/null $dir/frontend.yaml $dir/frontend-slices.yaml $dir/api.json --node node-a
# files in any order
golden $dir/shop.svc /dev/null $dir/api.json $dir/frontend-slices.yaml $dir/frontend.yaml --node node-a

# JSON forms made from the sample (jq, a declared dependency)
if command -v jq > /dev/null; then
	# one List of both kinds: `kubectl get services,endpointslices -A -o json`
	jq -s '{apiVersion: "v1", kind: "List", items: (.[0].items + .[1].items)}' "$svcs" "$slices" \
		> "$tmp/mixed.json"
	sample_warnings "$tmp/mixed.json"
	golden examples/k8s/cluster.svc "$tmp/want-err" "$tmp/mixed.json" --node node-a
	# no kind anywhere: told apart by their fields
	jq 'del(.kind) | del(.items[].kind)' "$tmp/mixed.json" > "$tmp/kindless.json"
	sample_warnings "$tmp/kindless.json"
	golden examples/k8s/cluster.svc "$tmp/want-err" "$tmp/kindless.json" --node node-a
	# ServiceList and EndpointSliceList, items without kind
	jq '.kind = "ServiceList" | del(.items[].kind)' "$svcs" > "$tmp/svcs.json"
	jq '.kind = "EndpointSliceList" | del(.items[].kind)' "$slices" > "$tmp/slices.json"
	sample_warnings "$tmp/svcs.json" "$tmp/slices.json"
	golden examples/k8s/cluster.svc "$tmp/want-err" "$tmp/slices.json" "$tmp/svcs.json" --node node-a
	# one file per object, and an empty List ("items": null, as the API server gives it)
	mkdir "$tmp/each"
	jq -c '.items[]' "$tmp/mixed.json" | split -l 1 -a 3 - "$tmp/each/o-"
	printf '{"apiVersion": "v1", "kind": "List", "items": null}\n' > "$tmp/each/z-empty"
	"$svcc" import-k8s "$tmp"/each/* --node node-a > "$tmp/out" 2> "$tmp/err"
	if cmp -s examples/k8s/cluster.svc "$tmp/out" && [ "$(wc -l < "$tmp/err")" -eq 8 ]; then ok
	else bad "one file per object"; diff examples/k8s/cluster.svc "$tmp/out" | head; cat "$tmp/err"; fi
else
	bad "JSON forms: no jq (apt-get install jq)"
fi
# "items": null alone: the header, no service, no warning
printf '{"apiVersion": "v1", "kind": "ServiceList", "items": null}\n' > "$tmp/null.json"
"$svcc" import-k8s "$tmp/null.json" > "$tmp/out" 2> "$tmp/err"
if [ $? -eq 0 ] && ! grep -q service "$tmp/out" && [ ! -s "$tmp/err" ]; then ok; else bad "items: null"; fi
# standard input, named <stdin> in warnings; other kinds warned about and ignored
echo "import-k8s: warning: <stdin>: documents[0]: kind Pod: neither a Service nor an EndpointSlice (ignored)" \
	> "$tmp/pod-err"
{ printf -- '---\nkind: Pod\napiVersion: v1\nmetadata: {name: p}\n'; cat $dir/shop-stream.yaml; } > "$tmp/pod.yaml"
golden $dir/shop.svc "$tmp/pod-err" - --node node-a < "$tmp/pod.yaml"
sample_warnings "<stdin>" "$slices"
golden examples/k8s/cluster.svc "$tmp/want-err" - "$slices" --node node-a < "$svcs"

# what it writes, svcc compiles without a word
for f in examples/k8s/cluster.svc $dir/edge.svc $dir/checks.svc $dir/dup-vip.svc $dir/zone.svc $dir/detect.svc \
	$dir/shop.svc; do
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
fails 1 "import-k8s: $dir/array.json: not a Kubernetes object or List (a list)" $dir/array.json
printf 'apiVersion: v1\nkind: List\nitems:\n- kind: Service\n  spec: {ports: [}\n' > "$tmp/bad.yaml"
fails 1 "import-k8s: $tmp/bad.yaml:5:18: while parsing a flow node: did not find expected node content" \
	"$tmp/bad.yaml"
printf 'kind: Service\nmetadata:\n  name: a\n  name: b\n' > "$tmp/dup.yaml"
fails 1 "import-k8s: $tmp/dup.yaml:4:3: duplicate mapping key 'name'" "$tmp/dup.yaml"
printf 'kind: Service\nspec: &s\n  x: *s\n' > "$tmp/loop.yaml"
fails 1 "import-k8s: $tmp/loop.yaml:3:6: alias *s: no such anchor before it, or one that contains it" \
	"$tmp/loop.yaml"
printf '{"kind": "List", "items": {}}' > "$tmp/items.json"
fails 1 "import-k8s: $tmp/items.json: items: expected a list, not an object" "$tmp/items.json"
printf -- '--- 3\n' > "$tmp/scalar.yaml"
fails 1 "import-k8s: $tmp/scalar.yaml: not a Kubernetes object or List (a scalar)" "$tmp/scalar.yaml"
printf '{"kind": "List", "items": [{"kind": "Service", "apiVersion": "v2"}]}' > "$tmp/api.json"
fails 1 "import-k8s: $tmp/api.json: items[0]: apiVersion v2, expected v1" "$tmp/api.json"

# bad usage: exit 2
fails 2 "import-k8s: expected FILE...: Services and EndpointSlices, JSON or YAML"
fails 2 "import-k8s: expected FILE...: Services and EndpointSlices, JSON or YAML" --node a
fails 2 "import-k8s: unknown option '--bogus'" --bogus "$svcs" "$slices"
fails 2 "import-k8s: option '--node' needs an argument" "$svcs" "$slices" --node
fails 2 "import-k8s: option pod-cidr: invalid CIDR '10.244.0.0'" "$svcs" "$slices" --pod-cidr 10.244.0.0
fails 2 "import-k8s: option service-cidr: 10.96.0.1/12 has bits set past the prefix" \
	"$svcs" "$slices" --service-cidr 10.96.0.1/12
if "$svcc" import-k8s --help 2> /dev/null | grep -q '^usage: svcc import-k8s'; then ok; else bad "--help"; fi

echo "import: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
