#!/usr/bin/env bash
# import-traffic.sh - Kubernetes objects as kubectl prints them (YAML, a
# stream of a dual-stack NodePort Service and its two EndpointSlices),
# through `svcc import-k8s` and `svcc apply`, proven with real packets in
# the namespace topology (topology.sh): ready endpoints answer at the vip
# (IPv4, IPv6) and at the NodePort from outside; a terminating one only
# when no ready one remains (kube-proxy's fallback).  Needs root.
#
#   bash tests/kernel/import-traffic.sh BUILD_DIR [-v]
set -u
BUILD=${1:-build}
VERBOSE=0
[[ ${2:-} == -v ]] && VERBOSE=1

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=lib.sh
. "$HERE/lib.sh"

# k8s READY1 READY2: the objects, pod1 and pod2 ready or not; pod3 terminating
k8s() {
	local fam addrs ep
	cat <<EOF
apiVersion: v1
kind: Service
metadata: {name: web, namespace: default}
spec:
  type: NodePort
  clusterIP: 10.96.0.10
  clusterIPs: ["10.96.0.10", "fd00:96::10"]
  ipFamilies: [IPv4, IPv6]
  ports:
  - {name: http, port: 80, protocol: TCP, targetPort: 8080, nodePort: 30080}
EOF
	for fam in 4 6; do
		if [[ $fam == 4 ]]; then addrs=("${P4[@]}"); else addrs=("${P6[@]}"); fi
		cat <<EOF
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: web-v$fam
  namespace: default
  labels: {kubernetes.io/service-name: web}
addressType: IPv$fam
ports: [{name: http, port: 8080, protocol: TCP}]
endpoints:
- addresses: ["${addrs[0]}"]
  conditions: {ready: $1, serving: true, terminating: false}
  nodeName: node-a
- addresses: ["${addrs[1]}"]
  conditions: {ready: $2, serving: true, terminating: false}
  nodeName: node-b
- addresses: ["${addrs[2]}"]
  conditions: {ready: false, serving: true, terminating: true}
  nodeName: node-b
EOF
	done
}

# import_apply READY1 READY2: the YAML on stdin, imported and applied
import_apply() {
	k8s "$1" "$2" | "$SVCC" import-k8s - --node node-a --pod-cidr 10.244.0.0/16 \
		--pod-cidr fd00:244::/32 > "$TOPO_TMP/web.svc" 2> "$TOPO_TMP/web.err" &&
		[[ ! -s $TOPO_TMP/web.err ]] && apply "$TOPO_TMP/web.svc"
}

# answers FUNC ADDR PORT WANT...: 12 TCP connections, every one answered by one of WANT, each of them seen
answers() {
	local fn=$1 addr=$2 port=$3 out a
	shift 3
	out=$($fn "$PROBE" tcp "$addr" "$port" 12 --timeout-ms 2000)
	show "$out"
	for a in "$@"; do
		[[ $(count_from "$out" "$a") -gt 0 ]] || return 1
	done
	[[ $(wc -l <<<"$out") == 12 ]] || return 1
	while read -r a _; do
		[[ " $* " == *" $a "* ]] || return 1
	done <<<"$out"
}
in_out() { in_outside "$@"; }

check "import-k8s of a YAML stream, applied" import_apply true true
check "vip 10.96.0.10:80 from a pod: the two ready pods" answers in_pod1 10.96.0.10 80 "${P4[0]}" "${P4[1]}"
check "vip [fd00:96::10]:80 from a pod: the two ready pods" answers in_pod1 fd00:96::10 80 "${P6[0]}" "${P6[1]}"
check "NodePort $TOPO_NODE_OUT4:30080 from outside: the two ready pods" \
	answers in_out "$TOPO_NODE_OUT4" 30080 "${P4[0]}" "${P4[1]}"
# none ready: the terminating pod is the fallback
check "import-k8s with no ready endpoint, applied" import_apply false false
check "vip from a pod: the terminating pod alone" answers in_pod1 10.96.0.10 80 "${P4[2]}"
check "NodePort [$TOPO_NODE_OUT6]:30080 from outside: the terminating pod alone" \
	answers in_out "$TOPO_NODE_OUT6" 30080 "${P6[2]}"
finish
