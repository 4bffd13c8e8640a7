#!/usr/bin/env bash
# trace-diff.sh - svcc trace against the kernel: for flows from a pod, the node
# and outside to every kind of address (vip, external ip, load balancer, a
# NodePort on the node's address, ports a service lacks, an unused address
# of the service CIDR, the node's own ports), trace predicts from the
# compiled ruleset and real packets through the applied one must agree:
# which endpoints answer and how often (numgen's round robin is exact over
# a multiple of its modulus), the source they see (masquerade), refused,
# dropped (timeout), left alone.  Needs root; the topology of topology.sh.
#
#   bash tests/kernel/trace-diff.sh BUILD_DIR [-v]
set -u
BUILD=${1:-build}
VERBOSE=0
[[ ${2:-} == -v ]] && VERBOSE=1

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=lib.sh
. "$HERE/lib.sh"

C=$TOPO_TMP/trace.svc
cat > "$C" <<EOF
cluster {
    pod-cidr 10.244.0.0/16;
    pod-cidr fd00:244::/32;
    service-cidr 10.96.0.0/16;
    service-cidr fd00:96::/112;
    node-ip $TOPO_NODE_OUT4;
}
service default/web {
    vip 10.96.0.10;
    port http 80/tcp -> 8080;
    port dns 80/udp -> 8080;
    nodeport http 30080;
    nodeport dns 30081;
    external-ip 192.168.60.10;
    load-balancer 198.51.100.7;
    endpoint ${P4[0]}; endpoint ${P4[1]}; endpoint ${P4[2]};
}
service default/weighted {
    vip 10.96.0.12;
    port 80 -> 8080;
    endpoint ${P4[0]}; endpoint ${P4[2]} weight 2;
}
service default/web6 {
    vip fd00:96::10;
    port 80 -> 8080;
    endpoint ${P6[1]}; endpoint ${P6[2]};
}
service default/local {
    vip 10.96.0.20;
    port 80 -> 8080;
    nodeport 30082;
    traffic-policy external local;
    endpoint ${P4[2]} local; endpoint ${P4[1]};
}
service default/empty {
    vip 10.96.0.11;
    port web 80/tcp;
    port dns 80/udp;
    nodeport web 30083;
}
service default/fenced {
    vip 10.96.0.30;
    port 80 -> 8080;
    load-balancer 198.51.100.8;
    source-ranges 10.0.0.0/8;
    endpoint ${P4[0]};
}
EOF
check "svcc apply of the trace config" in_node "$SVCC" apply "$C"

# the node's address toward the pods: what a masqueraded connection shows them
masq_addr() { [[ $1 == *:* ]] && echo "$TOPO_NODE_BR6" || echo "$TOPO_NODE_BR4"; }

# flow_agrees KIND SRC PROTO ADDR PORT: trace's prediction for $TC (the
# config applied, unless a control says otherwise), then real packets; the
# flow and its prediction in $what; 0 when the kernel did as predicted
TC=$C
flow_agrees() {
	local kind=$1 src=$2 proto=$3 addr=$4 port=$5 to opt n=6 tmo=1000 out pred
	local want bad=0 verdict eaddr eport share masq local cnt peer
	# the interfaces the topology's packets come in by: pods' by the bridge
	case $kind in
	pod) opt="--from-pod --iif cni0" ;;
	node) opt=--from-node ;;
	outside) opt="--from-outside --iif veth-out" ;;
	esac
	[[ $addr == *:* ]] && to="[$addr]:$port/$proto" || to="$addr:$port/$proto"
	pred=$("$SVCC" trace "$TC" --from "$src" --to "$to" $opt --json |
		jq -r '.outcomes[] | "\(.verdict) \(.addr) \(.port) \(.share) \(.masquerade) \(.local)"')
	what="$proto $kind $src->$to: $(awk '{ printf "%s%s %s:%s %s%s", (NR > 1 ? ", " : ""), $1, $2, $3, $4, ($5 == "true" ? " masq" : "") }' <<<"$pred")"
	[[ -z $pred ]] && { what="$what: no prediction"; return 1; }
	# only outcomes that end in silence need a short wait, and few tries
	if ! grep -q '^dnat' <<<"$pred"; then n=2; tmo=400; fi
	case $kind in
	pod) out=$(in_pod 1 "$PROBE" "$proto" "$addr" "$port" $n --timeout-ms $tmo) ;;
	node) out=$(in_node "$PROBE" "$proto" "$addr" "$port" $n --timeout-ms $tmo) ;;
	outside) out=$(in_outside "$PROBE" "$proto" "$addr" "$port" $n --timeout-ms $tmo) ;;
	esac
	show "$pred" "$out"
	read -r verdict _ <<<"$pred"
	case $verdict in
	dnat)
		# every answer from a predicted endpoint, each exactly its share of n,
		# from the source predicted for it
		while read -r verdict eaddr eport share masq local; do
			[[ $verdict == dnat ]] || { bad=1; continue; }
			want=$(awk -v s="$share" -v n=$n 'BEGIN { printf "%d", s * n + 0.5 }')
			cnt=$(awk -v a="$eaddr" -v p="$eport" '$1 == a && $4 == p { c++ } END { print c + 0 }' <<<"$out")
			((cnt == want)) || bad=1
			[[ $masq == true ]] && peer=$(masq_addr "$eaddr") || peer=$src
			awk -v a="$eaddr" -v p="$peer" '$1 == a && $2 != p { bad = 1 } END { exit bad }' <<<"$out" || bad=1
		done <<<"$pred"
		;;
	reset | unreachable)
		# the node's own sender hears ICMP as EPERM (udp)
		all_lines "$out" '$1 == "refused" || ("'"$kind"'" == "node" && $1 == "denied")' || bad=1 ;;
	drop)
		all_lines "$out" '$1 == "timeout" || ("'"$kind"'" == "node" && $1 == "denied")' || bad=1 ;;
	accept)
		# left alone: a pod's echo server answers, seeing the source predicted;
		# the node's own port answers (nothing listens: refused); elsewhere
		# nothing answers in this topology
		read -r _ eaddr eport _ masq local <<<"$pred"
		[[ $masq == true ]] && peer=$(masq_addr "$eaddr") || peer=$src
		if [[ " ${P4[*]} ${P6[*]} " == *" $eaddr "* && $eport == 8080 ]]; then
			all_lines "$out" "\$1 == \"$eaddr\" && \$2 == \"$peer\"" || bad=1
		elif [[ $local == true ]]; then
			all_lines "$out" '$1 == "refused"' || bad=1
		else
			all_lines "$out" '$1 == "timeout" || $1 == "unreachable"' || bad=1
		fi ;;
	*) bad=1 ;;
	esac
	what="$what [kernel: $(dist "$out")]"
	((bad == 0))
}
flow() { if flow_agrees "$@"; then ok "$what"; else not_ok "$what"; fi; }

# control CONFIG FLOW...: a prediction from another config must disagree
# with the kernel: the comparison can fail
control() {
	local tc=$1
	shift
	TC=$TOPO_TMP/$tc.svc
	if flow_agrees "$@"; then not_ok "control $tc: agreed: $what"; else ok "control $tc disagrees: $what"; fi
	TC=$C
}
sed "s/endpoint ${P4[0]}; endpoint ${P4[1]}; endpoint ${P4[2]};/endpoint ${P4[0]}; endpoint ${P4[1]};/" "$C" > "$TOPO_TMP/two-endpoints.svc"
sed 's/^cluster {/masquerade { }\ncluster {/' "$C" > "$TOPO_TMP/no-masquerade.svc"
sed "s|port web 80/tcp;|port web 80/tcp -> 8080; endpoint ${P4[0]};|" "$C" > "$TOPO_TMP/empty-filled.svc"
sed 's/traffic-policy external local;//' "$C" > "$TOPO_TMP/cluster-policy.svc"

POD=${P4[0]} POD6=${P6[0]}
# sources KIND: s4 and s6, the addresses a flow from KIND is sent from
sources() {
	case $1 in
	pod) s4=$POD s6=$POD6 ;;
	node) s4=$TOPO_NODE_OUT4 s6=$TOPO_NODE_OUT6 ;;
	outside) s4=$TOPO_OUTSIDE4 s6=$TOPO_OUTSIDE6 ;;
	esac
}
for kind in pod node outside; do
	sources $kind
	for proto in tcp udp; do
		flow $kind $s4 $proto 10.96.0.10 80		# vip
		flow $kind $s4 $proto 10.96.0.10 81		# a port the vip lacks
		flow $kind $s4 $proto 10.96.0.11 80		# no endpoints
	done
	flow $kind $s4 tcp 10.96.0.12 80		# weights 1 and 2
	flow $kind $s4 tcp 10.96.0.99 80		# no service: dropped
	flow $kind $s4 tcp 192.168.60.10 80		# external ip
	flow $kind $s4 tcp 192.168.60.10 81
	flow $kind $s4 tcp 198.51.100.7 80		# load balancer
	flow $kind $s4 tcp 198.51.100.8 80		# load balancer with source ranges
	flow $kind $s4 tcp "$TOPO_NODE_OUT4" 30080	# NodePort
	flow $kind $s4 udp "$TOPO_NODE_OUT4" 30081
	flow $kind $s4 tcp "$TOPO_NODE_OUT4" 30083	# NodePort without endpoints
	flow $kind $s4 tcp "$TOPO_NODE_OUT4" 30082	# external traffic policy local
	flow $kind $s4 tcp 10.96.0.20 80
	flow $kind $s4 tcp "$TOPO_NODE_OUT4" 22	# the node's own port
	flow $kind $s6 tcp fd00:96::10 80		# IPv6
	flow $kind $s6 tcp fd00:96::10 81
	# a pod's own address: no service (the node sends from its bridge address there)
	[[ $kind == node ]] && s4=$TOPO_NODE_BR4
	flow $kind $s4 tcp "${P4[1]}" 8080
	flow $kind $s4 udp "${P4[1]}" 8080
done

# Golden configs, their pod addresses moved onto the topology's pods: every
# vip (and a port it lacks), load balancer and NodePort, from each source.
# Left out: goldens whose endpoints would not be distinct after the move or
# whose targets are not the echo servers' 8080, and affinity (a client is
# new only once).
golden() {
	local g=$1 kind s4 s6 a p
	C=$TOPO_TMP/golden-$g.svc TC=$TOPO_TMP/golden-$g.svc
	sed -e 's/10\.244\.1\.5\b/10.244.1.11/g; s/10\.244\.2\.5\b/10.244.1.12/g' \
	    -e 's/10\.244\.1\.6\b/10.244.1.11/g; s/10\.244\.2\.6\b/10.244.1.12/g' \
	    -e 's/10\.244\.2\.7\b/10.244.1.13/g; s/fd00:10:244:1::5/fd00:244:1::11/g' \
	    "tests/golden/$g.svc" > "$C"
	check "golden $g (pods moved) applied" in_node "$SVCC" apply "$C"
	for kind in pod node outside; do
		sources $kind
		for a in $(sed -n 's/^ *vip \([0-9.]*\);.*/\1/p' "$C" | sort -u); do
			flow $kind $s4 tcp "$a" 80
			flow $kind $s4 tcp "$a" 81
		done
		for a in $(sed -n 's/^ *vip \([0-9a-f:]*:[0-9a-f:]*\);.*/\1/p' "$C" | sort -u); do
			flow $kind $s6 tcp "$a" 80
		done
		for a in $(sed -n 's/^ *load-balancer \([0-9.]*\);.*/\1/p' "$C" | sort -u); do
			flow $kind $s4 tcp "$a" 80
		done
		for p in $(sed -n 's/^ *nodeport \(http \)\{0,1\}\([0-9]*\);.*/\2/p; s/^ *health-check-nodeport \([0-9]*\);.*/\1/p' "$C"); do
			flow $kind $s4 tcp "$TOPO_NODE_OUT4" "$p"
		done
	done
}
for g in detect-bridge detect-node detect-prefix nodeport traffic-policy topology; do
	golden $g
done
C=$TOPO_TMP/trace.svc TC=$TOPO_TMP/trace.svc
check "the trace config applied again (for the controls)" in_node "$SVCC" apply "$C"

control two-endpoints outside $TOPO_OUTSIDE4 tcp 10.96.0.10 80
control no-masquerade outside $TOPO_OUTSIDE4 tcp 10.96.0.10 80
control empty-filled pod $POD tcp 10.96.0.11 80
control cluster-policy outside $TOPO_OUTSIDE4 tcp "$TOPO_NODE_OUT4" 30082

finish
