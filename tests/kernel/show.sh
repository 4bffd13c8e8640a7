#!/usr/bin/env bash
# show.sh - svcc show against real connections, in the namespace topology
# of topology.sh.  Needs root.
#
#   bash tests/kernel/show.sh BUILD_DIR [-v]
#
# A service with weights 1 and 2, a NodePort and a UDP port: held TCP
# connections from outside and UDP exchanges through its vip; svcc show
# (text and --json) lists its addresses, its endpoints with their weights,
# and per endpoint exactly the connections held (active) and the UDP flows
# (inactive); --stats the packets of them (conntrack accounting on in the
# node's namespace); the filters; after the connections close, no active.
set -u
BUILD=${1:-build}
VERBOSE=0	# read by lib.sh's show
[[ ${2:-} == -v ]] && VERBOSE=1
export VERBOSE
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=lib.sh
. "$HERE/lib.sh"	# topology up, echo servers on 8080 in every pod

VIP=10.96.0.60
C=$TOPO_TMP/show.svc
cat > "$C" <<X
cluster { pod-cidr 10.244.0.0/16; node-ip 192.168.50.2; }
service default/web {
    vip $VIP;
    port http 80 -> 8080;
    port echo 81/udp -> 8080;
    nodeport http 30060;
    endpoint ${P4[0]};
    endpoint ${P4[1]} weight 2;
}
service default/empty {
    vip 10.96.0.61;
    port 80;
}
X
check "svcc apply" in_node "$SVCC" apply "$C"
in_node sysctl -qw net.netfilter.nf_conntrack_acct=1

out=$(in_node "$SVCC" show); show "$out"
check "show: the vip, the NodePort, both endpoints with weights 1 and 2, no connection" \
	eval 'grep -qE "^TCP  $VIP:80 +default/web$" <<<"$out" &&
	      grep -qE "^ +192.168.50.2:30060 +nodeport$" <<<"$out" &&
	      grep -qE "^  -> ${P4[0]}:8080 +1 +0 +0$" <<<"$out" &&
	      grep -qE "^  -> ${P4[1]}:8080 +2 +0 +0$" <<<"$out"'
check "show: a port without endpoints is refused" \
	eval 'grep -A1 -E "^TCP  10.96.0.61:80 " <<<"$out" | grep -q "refused (tcp reset)"'

# six connections held open from outside, and three UDP flows
STOP=$TOPO_TMP/hold.stop
pids=()
for i in 1 2 3 4 5 6; do
	in_outside "$PROBE" hold $VIP 80 20 200 --timeout-ms 1000 --stop-file "$STOP" \
		> "$TOPO_TMP/hold$i.out" 2>&1 &
	TOPO_PIDS+=($!)
	pids+=($!)
	for ((t = 0; t < 40; t++)); do grep -q '^ok ' "$TOPO_TMP/hold$i.out" && break; sleep 0.05; done
done
held=$(awk '$1 == "connected" { print $2 }' "$TOPO_TMP"/hold[1-6].out)
udp=$(in_outside "$PROBE" udp $VIP 81 3 --timeout-ms 1000); show "$udp"
n_tcp() { grep -cx "$1" <<<"$held"; }
n_udp() { awk -v a="$1" '$1 == a { n++ } END { print n + 0 }' <<<"$udp"; }
check "six connections held [$(tr '\n' ' ' <<<"$held")], three UDP answers" \
	eval '(( $(wc -l <<<"$held") == 6 && $(wc -l <<<"$udp") == 3 ))'

json=$(in_node "$SVCC" show default/web --json --stats); show "$json"
check "show --json: one JSON object" eval 'jq -e .services <<<"$json" > /dev/null'
for ep in "${P4[0]}" "${P4[1]}"; do
	act=$(jq --arg a "$ep" '[.services[] | select(.protocol == "tcp") | .endpoints[] | select(.address == $a) | .active] | add' <<<"$json")
	ina=$(jq --arg a "$ep" '[.services[] | select(.protocol == "udp") | .endpoints[] | select(.address == $a) | .inactive] | add' <<<"$json")
	check "show --json: $ep has $(n_tcp "$ep") active TCP (held) and $(n_udp "$ep") inactive UDP [$act, $ina]" \
		eval '[[ $act == $(n_tcp "$ep") && $ina == $(n_udp "$ep") ]]'
done
check "show --json: weights 1 and 2, shares 1/3 and 2/3, the NodePort listed" \
	eval '[[ -n $json ]] && jq -e --arg a "${P4[0]}" --arg b "${P4[1]}" "
	      (.services[] | select(.protocol == \"tcp\")) as \$s |
	      (\$s.endpoints[] | select(.address == \$a) | .weight == 1 and (.share * 3 | . > 0.99 and . < 1.01)) and
	      (\$s.endpoints[] | select(.address == \$b) | .weight == 2) and
	      ([\$s.addresses[] | select(.kind == \"nodeport\" and .port == 30060)] | length == 1)" <<<"$json" > /dev/null'
pk=$(jq '[.services[] | select(.protocol == "tcp") | .endpoints[].packets] | add' <<<"$json")
check "show --stats: the held connections' packets counted [$pk]" eval '(( pk >= 6 * 4 ))'

out=$(in_node "$SVCC" show $VIP:80/tcp); rc=$?; show "$out"
check "show ADDR:PORT/PROTO: only that port [rc $rc]" \
	eval '((rc == 0)) && grep -q "^TCP  $VIP:80 " <<<"$out" && ! grep -q "^UDP" <<<"$out"'
out=$(in_node "$SVCC" show 192.168.50.2:30060); rc=$?
check "show NODE-ADDR:NODEPORT finds the service [rc $rc]" eval '((rc == 0)) && grep -q "default/web" <<<"$out"'
in_node "$SVCC" show 10.96.0.99:80 > /dev/null 2>&1; rc=$?
check "show of an address nothing serves: exit 1 [rc $rc]" test "$rc" = 1
in_node "$SVCC" show 10.96.0.99:x > /dev/null 2>&1; rc=$?
check "show of a malformed ADDR:PORT: exit 2 [rc $rc]" test "$rc" = 2

touch "$STOP"
wait "${pids[@]}"
json=$(in_node "$SVCC" show default/web --json); show "$json"
act=$(jq '[.services[].endpoints[].active] | add' <<<"$json")
check "after the connections close: no active connection [$act]" test "$act" = 0

in_node "$SVCC" delete
out=$(in_node "$SVCC" show 2>&1); rc=$?
check "show without a table: says so, exit 3 [rc $rc]" eval '((rc == 3)) && grep -q "does not exist" <<<"$out"'
finish
