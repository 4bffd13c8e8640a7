#!/bin/sh
# The sample cluster's Kubernetes JSON, imported, compiles and applies in a
# private network namespace, through netlink and through nft; applying it
# again sends nothing.  Usage: tests/kernel/import-apply.sh BUILD_DIR
set -u
svcc=$(realpath "${1:-build}/svcc")
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
pass=0 fail=0
ok()  { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*"; }

"$svcc" import-k8s examples/k8s/services.json examples/k8s/endpointslices.json --node node-a \
	--pod-cidr 10.244.0.0/16 --pod-cidr fd00:10:244::/56 > "$tmp/cluster.svc" 2> /dev/null &&
	ok || bad "import-k8s"
"$svcc" check "$tmp/cluster.svc" && ok || bad "check of the imported config"
for via in netlink nft; do
	if unshare -n sh -c "'$svcc' apply --via=$via "\$1" && '$svcc' apply -v --via=$via "\$1" 2> "\$2" &&
		nft list table inet svcc > /dev/null" sh "$tmp/cluster.svc" "$tmp/again.$via"; then
		ok
	else
		bad "apply --via=$via of the imported config"
	fi
	grep -q ' 0 messages' "$tmp/again.$via" && ok || bad "second apply --via=$via: $(cat "$tmp/again.$via")"
done
echo "import-apply: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
