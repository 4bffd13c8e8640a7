#!/usr/bin/env bash
# detect-local.sh - the four ways of telling pods from everything else
# (kube-proxy's --detect-local-mode), with real packets: by pod-cidr, by this
# node's pod CIDR, by the pods' bridge, by an interface name prefix.  In each,
# outside clients are masqueraded and pods are not (hairpin still is), and a
# pod reaching an external-local load balancer takes the cluster path; a
# bridge that is not the pods' makes pods look like outsiders, which shows
# the interface is what decides.  Needs root.
#
#   bash tests/kernel/detect-local.sh BUILD_DIR [-v]
set -u
BUILD=${1:-build}
VERBOSE=0
[[ ${2:-} == -v ]] && VERBOSE=1

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=lib.sh
. "$HERE/lib.sh"

C=$TOPO_TMP/detect.svc
config() {	# the cluster block's detection line
	cat > "$C" <<EOF
cluster {
    pod-cidr 10.244.0.0/16;
    $1
}
service default/web {
    vip 10.96.0.10;
    port 80 -> 8080;
    endpoint ${P4[0]}; endpoint ${P4[1]}; endpoint ${P4[2]};
}
service default/edge {
    vip 10.96.0.11;
    port 80 -> 8080;
    load-balancer 198.51.100.7;
    traffic-policy external local;
    endpoint ${P4[0]} local; endpoint ${P4[1]}; endpoint ${P4[2]};
}
EOF
}

# the pods' own traffic is not masqueraded; the outside's and hairpin are
pods_told() {
	local mode=$1 out
	out=$(in_outside "$PROBE" tcp 10.96.0.10 80 9 --timeout-ms 1000); show "$out"
	check "$mode: outside->vip lands 3/3/3, masqueraded to $TOPO_NODE_BR4 [$(dist "$out")]" \
		eval 'expect_even "$out" 3 "${P4[@]}" && all_lines "$out" "\$2 == \"$TOPO_NODE_BR4\""'
	out=$(in_pod 2 "$PROBE" tcp 10.96.0.10 80 9 --timeout-ms 1000); show "$out"
	check "$mode: pod2->vip: other pods see pod2's own address, hairpin is masqueraded [$(dist "$out")]" \
		eval 'expect_even "$out" 3 "${P4[@]}" &&
		      all_lines "$out" "(\$1 != \"${P4[1]}\" && \$2 == \"${P4[1]}\") || (\$1 == \"${P4[1]}\" && \$2 == \"$TOPO_NODE_BR4\")"'
	out=$(in_outside "$PROBE" tcp 198.51.100.7 80 4 --timeout-ms 1000); show "$out"
	check "$mode: outside->external-local load balancer: the local pod1 only [$(dist "$out")]" \
		expect_even "$out" 4 "${P4[0]}"
	out=$(in_pod 3 "$PROBE" tcp 198.51.100.7 80 9 --timeout-ms 1000); show "$out"
	check "$mode: pod3->the same load balancer takes the cluster path 3/3/3 [$(dist "$out")]" \
		expect_even "$out" 3 "${P4[@]}"
}

for mode in "pod-cidr" "node-pod-cidr 10.244.1.0/24;" "pod-bridge cni0;" "pod-interface-prefix cni;"; do
	case $mode in pod-cidr) config "" ;; *) config "$mode" ;; esac
	check "svcc apply with ${mode%;}" apply "$C"
	pods_told "${mode%;}"
done

# the controls: a bridge the pods do not come by, another node's pod CIDR:
# the pods are outsiders now
for mode in "pod-bridge br-other;" "node-pod-cidr 10.244.9.0/24;"; do
	config "$mode"
	check "svcc apply with ${mode%;}" apply "$C"
	out=$(in_pod 2 "$PROBE" tcp 10.96.0.10 80 9 --timeout-ms 1000); show "$out"
	check "${mode%;}: pod2's traffic is masqueraded like an outsider's [$(dist "$out")]" \
		eval 'expect_even "$out" 3 "${P4[@]}" && all_lines "$out" "\$2 == \"$TOPO_NODE_BR4\""'
	out=$(in_pod 3 "$PROBE" tcp 198.51.100.7 80 4 --timeout-ms 1000); show "$out"
	check "${mode%;}: pod3->load balancer is external traffic, the local pod1 only [$(dist "$out")]" \
		expect_even "$out" 4 "${P4[0]}"
done
finish
