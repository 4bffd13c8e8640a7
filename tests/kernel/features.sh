#!/usr/bin/env bash
# features.sh - real packets through the service features beyond a plain
# vip: NodePort, external IPs, load-balancer addresses with source ranges,
# endpoint weights, terminating endpoints, per-endpoint target ports and
# dual-stack services, client-ip affinity (also when an endpoint a client
# is remembered on goes).  Needs root.
#
#   bash tests/kernel/features.sh BUILD_DIR [-v]     (VIA=--via=nft: the text path)
set -u
BUILD=${1:-build}
VERBOSE=0
[[ ${2:-} == -v ]] && VERBOSE=1
VIA=${VIA:-}

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=lib.sh
. "$HERE/lib.sh"

# a second echo server on pod2, for a per-endpoint target port
in_pod 2 "$TOPO_BIN/echo-server" "${P4[1]}" 8081 > "$TOPO_TMP/echo-8081.log" 2>&1 &
TOPO_PIDS+=($!)

NODE=$TOPO_NODE_OUT4 NODE6=$TOPO_NODE_OUT6
# nft 1.0.6 aborts on the IPv6 affinity update rule (its 36-byte key leaves
# no aligned register for the data): through nft, default/sticky is IPv4 only
STICKY6="    vip fd00:96::30;
    endpoint ${P6[0]}; endpoint ${P6[1]};"
[[ $VIA == --via=nft ]] && STICKY6=
C=$TOPO_TMP/features.svc
cat > "$C" <<EOF
cluster {
    pod-cidr 10.244.0.0/16;
    pod-cidr fd00:244::/32;
    node-ip $NODE;
    node-ip $NODE6;
    service-cidr 10.96.0.0/16;
    service-cidr fd00:96::/64;
    zone zone-a;                           # pod1 and pod2 are in zone-a, pod3 in zone-b
    node-name node-1;
}
service default/zonal {
    vip 10.96.0.40;
    port 80 -> 8080;
    traffic-distribution prefer-same-zone;
    endpoint ${P4[0]} zone zone-a node node-1;
    endpoint ${P4[1]} zone zone-a node node-2;
    endpoint ${P4[2]} zone zone-b node node-3;
}
service default/nodal {
    vip 10.96.0.41;
    port 80 -> 8080;
    traffic-distribution prefer-same-node;
    endpoint ${P4[0]} zone zone-a node node-1;
    endpoint ${P4[1]} zone zone-a node node-2;
    endpoint ${P4[2]} zone zone-b node node-3;
}
service default/hinted-away {              # hints, none for zone-a: all endpoints
    vip 10.96.0.42;
    port 80 -> 8080;
    endpoint ${P4[0]} hint-zone zone-b;
    endpoint ${P4[1]} hint-zone zone-b;
    endpoint ${P4[2]} hint-zone zone-b;
}
service default/web {                      # NodePort, dual-stack
    vip 10.96.0.10;
    vip fd00:96::10;
    port http 80 -> 8080;
    port dns 53/udp -> 8080;
    nodeport http 30080;
    nodeport dns 30053;
    endpoint ${P4[0]}; endpoint ${P4[1]}; endpoint ${P4[2]};
    endpoint ${P6[0]}; endpoint ${P6[1]};
}
service default/gone {                     # a NodePort without endpoints
    vip 10.96.0.11;
    port 80;
    nodeport 30081;
}
service default/public {                   # external and load-balancer addresses
    vip 10.96.0.12;
    port 80 -> 8080;
    external-ip 192.0.2.10;
    load-balancer 198.51.100.7;
    load-balancer 198.51.100.9 proxy;     # ipMode Proxy: the node leaves it alone
    source-ranges 192.168.50.0/24;
    endpoint ${P4[0]}; endpoint ${P4[1]};
}
service default/private-lb {               # a load-balancer the outside may not use
    vip 10.96.0.13;
    port 80 -> 8080;
    load-balancer 198.51.100.8;
    source-ranges 10.0.0.0/8;
    endpoint ${P4[0]};
}
service default/weighted {
    vip 10.96.0.14;
    port 80 -> 8080;
    endpoint ${P4[0]} weight 3;
    endpoint ${P4[1]};
    endpoint ${P4[2]} weight 2;
}
service default/rolling {                  # pod2 terminating: unused while pod1 is ready
    vip 10.96.0.15;
    port 80 -> 8080;
    endpoint ${P4[0]};
    endpoint ${P4[1]} terminating;
}
service default/draining {                 # nothing ready: the terminating ones serve
    vip 10.96.0.16;
    port 80 -> 8080;
    endpoint ${P4[1]} terminating;
    endpoint ${P4[2]} terminating;
}
service default/ext-local {                # outside: local pod1 only, source kept
    vip 10.96.0.20;
    port 80 -> 8080;
    nodeport 30090;
    load-balancer 198.51.100.20;
    traffic-policy external local;
    endpoint ${P4[0]} local;
    endpoint ${P4[1]};
}
service default/int-local {                # pods: local pod1 only
    vip 10.96.0.21;
    port 80 -> 8080;
    traffic-policy internal local;
    endpoint ${P4[0]} local;
    endpoint ${P4[1]};
}
service default/none-local {               # endpoints, but none here: dropped
    vip 10.96.0.22;
    port 80 -> 8080;
    nodeport 30092;
    traffic-policy external local;
    traffic-policy internal local;
    health-check-nodeport 30093;           # the node's agent answers there
    endpoint ${P4[2]};
}
service default/sticky {                   # client-ip affinity, dual-stack
    vip 10.96.0.30;
    port 80 -> 8080;
    port 80/udp -> 8080;
    affinity client-ip timeout 600;
    endpoint ${P4[0]}; endpoint ${P4[1]}; endpoint ${P4[2]};
$STICKY6
}
service default/sticky-short {             # affinity that expires after a second
    vip 10.96.0.31;
    port 80 -> 8080;
    affinity client-ip timeout 1;
    endpoint ${P4[0]}; endpoint ${P4[1]}; endpoint ${P4[2]};
}
service default/named-target {             # pod2 serves the port on 8081
    vip 10.96.0.17;
    port http 80 -> web;
    endpoint ${P4[0]} port http 8080;
    endpoint ${P4[1]} port http 8081;
}
EOF
check "svcc apply $VIA of the features config" in_node "$SVCC" apply $VIA "$C"
show "$(list)"

# ---- NodePort -----------------------------------------------------------------
for proto in tcp udp; do
	port=30080; [[ $proto == udp ]] && port=30053
	out=$(in_outside "$PROBE" $proto "$NODE" $port 30 --timeout-ms 1000); show "$out"
	check "$proto outside->node:$port (NodePort) lands 10/10/10 [$(dist "$out")]" \
		expect_even "$out" 10 "${P4[@]}"
	check "$proto NodePort from outside is masqueraded (source $TOPO_NODE_BR4)" \
		all_lines "$out" "\$2 == \"$TOPO_NODE_BR4\""
done
out=$(in_outside "$PROBE" tcp "$NODE6" 30080 20 --timeout-ms 1000); show "$out"
check "tcp outside->[node6]:30080 (NodePort, IPv6) lands 10/10 [$(dist "$out")]" \
	expect_even "$out" 10 "${P6[0]}" "${P6[1]}"
out=$(in_node "$PROBE" tcp "$NODE" 30080 6 --timeout-ms 1000); show "$out"
check "tcp node->own address:30080 (NodePort from the node) lands 2/2/2 [$(dist "$out")]" \
	expect_even "$out" 2 "${P4[@]}"
out=$(in_pod 1 "$PROBE" tcp "$NODE" 30080 6 --timeout-ms 1000); show "$out"
check "tcp pod1->node:30080 lands 2/2/2 [$(dist "$out")]" expect_even "$out" 2 "${P4[@]}"
for proto in tcp; do
	t0=$(date +%s%N)
	out=$(in_outside "$PROBE" $proto "$NODE" 30081 3 --timeout-ms 2000); ms=$(elapsed_ms "$t0"); show "$out"
	check "$proto NodePort without endpoints is refused at once [$(dist "$out")${ms}ms]" \
		eval 'all_lines "$out" "\$1 == \"refused\"" && ((ms < 1500))'
done

# ---- external IPs, load-balancer addresses, source ranges ------------------------
out=$(in_outside "$PROBE" tcp 192.0.2.10 80 20 --timeout-ms 1000); show "$out"
check "tcp outside->external-ip 192.0.2.10 lands 10/10 [$(dist "$out")]" \
	expect_even "$out" 10 "${P4[0]}" "${P4[1]}"
check "external-ip traffic is masqueraded" all_lines "$out" "\$2 == \"$TOPO_NODE_BR4\""
out=$(in_outside "$PROBE" tcp 198.51.100.7 80 20 --timeout-ms 1000); show "$out"
check "tcp outside->load-balancer 198.51.100.7 (source allowed) lands 10/10 [$(dist "$out")]" \
	expect_even "$out" 10 "${P4[0]}" "${P4[1]}"
out=$(in_outside "$PROBE" tcp 198.51.100.8 80 3 --timeout-ms 300); show "$out"
check "tcp outside->load-balancer 198.51.100.8 (source not in source-ranges) is dropped [$(dist "$out")]" \
	all_lines "$out" "\$1 == \"timeout\""
out=$(in_outside "$PROBE" tcp 10.96.0.13 80 3 --timeout-ms 1000); show "$out"
check "... while its vip still answers [$(dist "$out")]" expect_even "$out" 3 "${P4[0]}"
# A proxy-mode load-balancer address, here the node's own with a server of
# the node's behind it: not DNATed, so the node's server answers, not a pod.
in_node ip addr add 198.51.100.9/32 dev lo
in_node "$TOPO_BIN/echo-server" 198.51.100.9 80 > "$TOPO_TMP/echo-lb.log" 2>&1 &
TOPO_PIDS+=($!)
sleep 0.2
out=$(in_outside "$PROBE" tcp 198.51.100.9 80 4 --timeout-ms 1000); show "$out"
check "tcp outside->load-balancer 198.51.100.9 proxy: not DNATed, the node's own server answers [$(dist "$out")]" \
	expect_even "$out" 4 198.51.100.9

# ---- endpoint conditions ---------------------------------------------------------
out=$(in_outside "$PROBE" tcp 10.96.0.14 80 60 --timeout-ms 1000); show "$out"
check "weights 3:1:2 over 60 connections land 30/10/20 [$(dist "$out")]" eval '
	[[ $(count_from "$out" "${P4[0]}") == 30 && $(count_from "$out" "${P4[1]}") == 10 &&
	   $(count_from "$out" "${P4[2]}") == 20 ]]'
out=$(in_outside "$PROBE" tcp 10.96.0.15 80 10 --timeout-ms 1000); show "$out"
check "a terminating endpoint is unused while a ready one remains [$(dist "$out")]" \
	expect_even "$out" 10 "${P4[0]}"
out=$(in_outside "$PROBE" tcp 10.96.0.16 80 10 --timeout-ms 1000); show "$out"
check "with nothing ready, the terminating endpoints serve 5/5 [$(dist "$out")]" \
	expect_even "$out" 5 "${P4[1]}" "${P4[2]}"
out=$(in_outside "$PROBE" tcp 10.96.0.17 80 10 --timeout-ms 1000); show "$out"
check "per-endpoint target ports: pod1 answers on 8080, pod2 on 8081 [$(awk '{print $1":"$4}' <<<"$out" | sort | uniq -c | tr -s ' \n' ' ')]" \
	all_lines "$out" "(\$1 == \"${P4[0]}\" && \$4 == 8080) || (\$1 == \"${P4[1]}\" && \$4 == 8081)"
check "... and both are used" expect_even "$out" 5 "${P4[0]}" "${P4[1]}"

# ---- traffic policies ------------------------------------------------------------
out=$(in_outside "$PROBE" tcp "$NODE" 30090 10 --timeout-ms 1000); show "$out"
check "external local: NodePort from outside lands on the local pod1 only [$(dist "$out")]" \
	expect_even "$out" 10 "${P4[0]}"
check "external local: the pod sees the client's own address $TOPO_OUTSIDE4" \
	all_lines "$out" "\$2 == \"$TOPO_OUTSIDE4\""
out=$(in_outside "$PROBE" tcp 198.51.100.20 80 4 --timeout-ms 1000); show "$out"
check "external local: load-balancer from outside lands on pod1, source kept [$(dist "$out")]" \
	all_lines "$out" "\$1 == \"${P4[0]}\" && \$2 == \"$TOPO_OUTSIDE4\""
out=$(in_pod 3 "$PROBE" tcp 198.51.100.20 80 10 --timeout-ms 1000); show "$out"
check "external local: a pod reaching the load-balancer takes the cluster path 5/5 [$(dist "$out")]" \
	expect_even "$out" 5 "${P4[0]}" "${P4[1]}"
out=$(in_pod 3 "$PROBE" tcp 10.96.0.21 80 10 --timeout-ms 1000); show "$out"
check "internal local: pods reach the local pod1 only [$(dist "$out")]" expect_even "$out" 10 "${P4[0]}"
out=$(in_outside "$PROBE" tcp "$NODE" 30092 2 --timeout-ms 300); show "$out"
check "no local endpoint: NodePort traffic is dropped [$(dist "$out")]" all_lines "$out" "\$1 == \"timeout\""
out=$(in_pod 1 "$PROBE" tcp 10.96.0.22 80 2 --timeout-ms 300); show "$out"
check "no local endpoint: vip traffic from pods is dropped [$(dist "$out")]" all_lines "$out" "\$1 == \"timeout\""
# its health-check NodePort: a server of the node's own (the agent's) answers
# there, from outside and from a pod: never DNATed, never refused
in_node "$TOPO_BIN/echo-server" "$NODE" 30093 > "$TOPO_TMP/echo-hc.log" 2>&1 &
TOPO_PIDS+=($!)
sleep 0.2
out=$(in_outside "$PROBE" tcp "$NODE" 30093 3 --timeout-ms 1000); show "$out"
check "health-check-nodeport 30093 from outside: the node's own server answers [$(dist "$out")]" \
	expect_even "$out" 3 "$NODE"
out=$(in_pod 1 "$PROBE" tcp "$NODE" 30093 2 --timeout-ms 1000); show "$out"
check "... and from a pod [$(dist "$out")]" expect_even "$out" 2 "$NODE"

# ---- a vip on a port its service lacks, an address no service has ------------------
# web has 80/tcp and 53/udp only: 81/tcp and 80/udp are refused at once (TCP
# reset, ICMP port unreachable), not routed on; 10.96.0.99 lies in the
# service-cidr and is no service's: dropped (a timeout, not a refusal)
LACKS="a port web lacks"
for proto in tcp udp; do
	reject_check in_outside outside $proto 10.96.0.10 refused 81 "$LACKS"
	reject_check in_pod1 pod1 $proto 10.96.0.10 refused 81 "$LACKS"
	reject_check in_outside outside $proto fd00:96::10 refused 81 "$LACKS"
done
reject_check in_node node tcp 10.96.0.10 refused 81 "$LACKS"
# from the node the reject happens in the output hook: the sender gets EPERM
reject_check in_node node udp 10.96.0.10 denied 81 "$LACKS"
# A counter in a table of the test's own, in forward after svcc's chain:
# what svcc drops never reaches it; 10.97.0.99, outside the service-cidr,
# does (routed on, and lost further on), which shows the counter counts.
in_node nft -f - <<'EOF'
table inet probe {
	chain forward {
		type filter hook forward priority 10; policy accept;
		ip daddr 10.96.0.99 counter
		ip6 daddr fd00:96::99 counter
		ip daddr 10.97.0.99 counter
	}
}
EOF
counted() { in_node nft list chain inet probe forward | grep -F "daddr $1 counter" | sed 's/.*packets \([0-9]*\).*/\1/'; }
in_outside "$PROBE" tcp 10.97.0.99 80 1 --timeout-ms 300 > /dev/null
for who in outside pod1; do
	fn=in_$who
	out=$($fn "$PROBE" tcp 10.96.0.99 80 2 --timeout-ms 300); show "$out"
	check "tcp $who->10.96.0.99 (in the service-cidr, no service's) is dropped [$(dist "$out")]" \
		all_lines "$out" "\$1 == \"timeout\""
	out=$($fn "$PROBE" tcp fd00:96::99 80 2 --timeout-ms 300); show "$out"
	check "tcp $who->fd00:96::99 (in the service-cidr6, no service's) is dropped [$(dist "$out")]" \
		all_lines "$out" "\$1 == \"timeout\""
done
check "... dropped by svcc before they are routed on (counted after svcc's chain: $(counted 10.96.0.99), $(counted fd00:96::99); outside the service-cidr: $(counted 10.97.0.99))" \
	eval '[[ $(counted 10.96.0.99) == 0 && $(counted fd00:96::99) == 0 && $(counted 10.97.0.99) -gt 0 ]]'
in_node nft delete table inet probe
out=$(in_outside "$PROBE" tcp 10.96.0.10 80 3 --timeout-ms 1000); show "$out"
check "... while web's own port still lands 1/1/1 [$(dist "$out")]" expect_even "$out" 1 "${P4[@]}"

# ---- topology-aware routing ----------------------------------------------------------
out=$(in_outside "$PROBE" tcp 10.96.0.40 80 10 --timeout-ms 1000); show "$out"
check "prefer-same-zone: only zone-a's pod1 and pod2, 5/5 [$(dist "$out")]" \
	expect_even "$out" 5 "${P4[0]}" "${P4[1]}"
out=$(in_pod 3 "$PROBE" tcp 10.96.0.41 80 6 --timeout-ms 1000); show "$out"
check "prefer-same-node: only node-1's pod1, even from pod3 [$(dist "$out")]" \
	expect_even "$out" 6 "${P4[0]}"
out=$(in_outside "$PROBE" tcp 10.96.0.42 80 9 --timeout-ms 1000); show "$out"
check "hints for another zone only: all endpoints, 3/3/3 [$(dist "$out")]" \
	expect_even "$out" 3 "${P4[@]}"

# ---- client-ip affinity ------------------------------------------------------------
for proto in tcp udp; do
	out=$(in_outside "$PROBE" $proto 10.96.0.30 80 10 --timeout-ms 1000); show "$out"
	check "$proto affinity: 10 connections from outside land on one endpoint [$(dist "$out")]" \
		eval '[[ $(awk "{print \$1}" <<<"$out" | sort -u | wc -l) == 1 && $(wc -l <<<"$out") == 10 ]] &&
		      grep -q "^10.244" <<<"$out"'
done
# IPv6: the update rule's 36-byte key and 20-byte data fill the registers
if [[ -n $STICKY6 ]]; then
	out=$(in_outside "$PROBE" tcp fd00:96::30 80 10 --timeout-ms 1000); show "$out"
	check "tcp affinity over IPv6: 10 connections from outside land on one endpoint [$(dist "$out")]" \
		eval '[[ $(awk "{print \$1}" <<<"$out" | sort -u | wc -l) == 1 && $(wc -l <<<"$out") == 10 ]] &&
		      grep -q "^fd00:244" <<<"$out" &&
		      in_node nft list map inet svcc affinity6-tcp | grep -qF "$TOPO_OUTSIDE6 . fd00:96::30 . 80 "'
fi
first=$(awk '{print $1}' <<<"$(in_pod 2 "$PROBE" tcp 10.96.0.30 80 1 --timeout-ms 1000)")
out=$(in_pod 2 "$PROBE" tcp 10.96.0.30 80 5 --timeout-ms 1000); show "$out"
check "affinity: a pod keeps its own endpoint ($first) [$(dist "$out")]" expect_even "$out" 5 "$first"
out=$(in_outside "$PROBE" tcp 10.96.0.31 80 3 --timeout-ms 1000); show "$out"
first=$(head -n 1 <<<"$out" | awk '{print $1}')
check "short affinity: sticks while fresh [$(dist "$out")]" expect_even "$out" 3 "$first"
# each new connection refreshes the entry (kube-proxy's update in the
# endpoint path): one every 0.5 s keeps the endpoint for 3 s, three timeouts
out=""
for i in 1 2 3 4 5 6; do
	sleep 0.5
	out+=$(in_outside "$PROBE" tcp 10.96.0.31 80 1 --timeout-ms 1000)$'\n'
done
out=${out%$'\n'}; show "$out"
check "short affinity: refreshed by each connection, kept for 3 s past a 1 s timeout [$(dist "$out")]" \
	expect_even "$out" 6 "$first"
sleep 2.2
out=$(in_outside "$PROBE" tcp 10.96.0.31 80 1 --timeout-ms 1000); show "$out"
check "short affinity: after the timeout, the next endpoint is chosen (not $first) [$(dist "$out")]" \
	eval '[[ -n $(awk "{print \$1}" <<<"$out") && $(awk "{print \$1}" <<<"$out") != "$first" ]] && grep -q "^10.244" <<<"$out"'

# ---- an affinity endpoint removed -------------------------------------------------
# Clients are remembered on endpoints of default/sticky: the outside (tcp and
# udp) and each pod (tcp); numgen hands new clients the endpoints in turn, so
# some pod is on another endpoint than the outside's tcp client.
# An apply removes the outside's tcp endpoint: its next connection lands on a
# remaining endpoint (not on the removed pod, which still answers, and not a
# timeout) and sticks there; a client remembered on a remaining endpoint
# keeps it.
sticky_ep() {	# FUNC... PROTO: the endpoint one more connection lands on
	awk '{ print $1 }' <<<"$("$@" 10.96.0.30 80 1 --timeout-ms 1000)"
}
declare -A was
was[tcp]=$(sticky_ep in_outside "$PROBE" tcp)
was[udp]=$(sticky_ep in_outside "$PROBE" udp)
for p in 1 2 3; do was[pod$p]=$(sticky_ep in_pod "$p" "$PROBE" tcp); done
gone=${was[tcp]}
show "remembered: outside tcp ${was[tcp]} udp ${was[udp]}, pods ${was[pod1]} ${was[pod2]} ${was[pod3]}"
other=
for p in 2 1 3; do [[ ${was[pod$p]} == 10.244.* && ${was[pod$p]} != "$gone" ]] && { other=$p; break; }; done
check "affinity: the outside and a pod are remembered on different endpoints ($gone, pod$other ${was[pod$other]:-})" \
	eval '[[ $gone == 10.244.* && -n $other ]]'
awk -v ep="endpoint $gone;" '
	/^service default\/sticky \{/ { s = 1 }
	s && /^\}/ { s = 0 }
	s && (i = index($0, ep)) { r = substr($0, i + length(ep)); sub(/^ /, "", r); $0 = substr($0, 1, i - 1) r }
	{ print }' "$C" > "$TOPO_TMP/sticky-less.svc"
check "svcc apply $VIA without endpoint $gone of default/sticky" \
	eval 'in_node "$SVCC" apply $VIA "$TOPO_TMP/sticky-less.svc" && ! grep -A6 "default/sticky {" "$TOPO_TMP/sticky-less.svc" | grep -qF "$gone;"'
out=$(in_outside "$PROBE" tcp 10.96.0.30 80 5 --timeout-ms 1000); show "$out"
check "tcp affinity: the client remembered on the removed $gone lands on a remaining endpoint, and stays [$(dist "$out")]" \
	eval 'all_lines "$out" "\$1 != \"$gone\" && \$1 ~ /^10\\.244\\./" &&
	      [[ $(awk "{print \$1}" <<<"$out" | sort -u | wc -l) == 1 ]]'
out=$(in_outside "$PROBE" udp 10.96.0.30 80 5 --timeout-ms 1000); show "$out"
if [[ ${was[udp]} == "$gone" ]]; then
	check "udp affinity: the client remembered on the removed $gone lands on a remaining endpoint [$(dist "$out")]" \
		eval 'all_lines "$out" "\$1 != \"$gone\" && \$1 ~ /^10\\.244\\./" &&
		      [[ $(awk "{print \$1}" <<<"$out" | sort -u | wc -l) == 1 ]]'
else
	check "udp affinity: the client remembered on the remaining ${was[udp]} keeps it [$(dist "$out")]" \
		expect_even "$out" 5 "${was[udp]}"
fi
out=$(in_pod "$other" "$PROBE" tcp 10.96.0.30 80 5 --timeout-ms 1000); show "$out"
check "tcp affinity: pod$other, remembered on the remaining ${was[pod$other]}, keeps it [$(dist "$out")]" \
	expect_even "$out" 5 "${was[pod$other]}"

# ---- dual-stack ------------------------------------------------------------------
out=$(in_outside "$PROBE" tcp 10.96.0.10 80 30 --timeout-ms 1000); show "$out"
check "dual-stack service over IPv4 lands 10/10/10 [$(dist "$out")]" expect_even "$out" 10 "${P4[@]}"
out=$(in_outside "$PROBE" tcp fd00:96::10 80 20 --timeout-ms 1000); show "$out"
check "dual-stack service over IPv6 lands 10/10 [$(dist "$out")]" expect_even "$out" 10 "${P6[0]}" "${P6[1]}"

# ---- NodePort on every local address (no node-ip) ---------------------------------
sed '/node-ip/d' "$C" > "$TOPO_TMP/any.svc"
check "svcc apply $VIA without node-ip" in_node "$SVCC" apply $VIA "$TOPO_TMP/any.svc"
out=$(in_outside "$PROBE" tcp "$NODE" 30080 3 --timeout-ms 1000); show "$out"
check "NodePort answers on the node's outside address [$(dist "$out")]" expect_even "$out" 1 "${P4[@]}"
out=$(in_pod 2 "$PROBE" tcp "$TOPO_NODE_BR4" 30080 3 --timeout-ms 1000); show "$out"
check "NodePort answers on the node's bridge address, from a pod [$(dist "$out")]" \
	expect_even "$out" 1 "${P4[@]}"

finish
