#!/bin/sh
# Seed corpus of one fuzz target, made from the tests' own inputs.
# Usage: tests/fuzz/seed.sh TARGET DIR   (DIR is emptied first)
set -eu
t=$1 dir=$2
rm -rf "$dir"
mkdir -p "$dir"
sep='
%%
'
case $t in
parse)
	# named by their directory too: tests/bad and tests/golden share names
	for f in examples/*.svc tests/golden/*.svc tests/bad/*.svc; do
		cp "$f" "$dir/$(basename "$(dirname "$f")")-$(basename "$f")"
	done ;;
diff)
	# each config paired with the next (a different cluster), with
	# itself less a line or two (an endpoint, a port gone), and with nothing
	set -- examples/*.svc tests/golden/*.svc
	prev=$(eval echo "\${$#}")
	for f in "$@"; do
		n=$(basename "$f" .svc)
		{ cat "$prev"; printf '%s' "$sep"; cat "$f"; } > "$dir/$n-after-$(basename "$prev" .svc)"
		{ cat "$f"; printf '%s' "$sep"; sed '/endpoint/{n;d}' "$f"; } > "$dir/$n-less-endpoints"
		{ cat "$f"; printf '%s' "$sep"; sed '0,/port/{/port/d}' "$f"; } > "$dir/$n-less-port"
		{ cat "$f"; printf '%s' "$sep"; } > "$dir/$n-to-empty"
		prev=$f
	done ;;
import)
	{ cat examples/k8s/services.json; printf '%s' "$sep"; cat examples/k8s/endpointslices.json; } \
		> "$dir/sample"
	{ cat tests/import/edge-services.json; printf '%s' "$sep"; cat tests/import/edge-endpointslices.json; } \
		> "$dir/edge"
	for f in tests/import/invalid.json tests/import/duplicate-key.json tests/import/array.json; do
		{ cat examples/k8s/services.json; printf '%s' "$sep"; cat "$f"; } > "$dir/$(basename "$f" .json)"
	done
	# YAML: a mixed List, a stream of documents, one object and a kind-less List
	{ cat tests/import/cluster.yaml; printf '%s' "$sep"; cat tests/import/shop-stream.yaml; } > "$dir/yaml"
	{ cat tests/import/frontend.yaml; printf '%s' "$sep"; cat tests/import/frontend-slices.yaml; } \
		> "$dir/yaml-object" ;;
builder)
	# the harness reads bytes as calls: any bytes do; these make a few
	# services with ports and endpoints at once
	i=0
	for f in examples/*.svc; do
		head -c 512 "$f" > "$dir/bytes-$i"
		i=$((i + 1))
	done
	printf '\000\001\002\003\004\005\006\007\010\011\012\013\014\015\016\017' > "$dir/ops"
	printf '\005\000\006\000\001\007\000\003\010\000\003\017' > "$dir/service" ;;
*)
	echo "seed.sh: unknown target '$t'" >&2; exit 2 ;;
esac
