#!/usr/bin/env bash
# traffic.sh - real packets through rulesets applied by `svcc apply`, in a
# namespace topology (topology.sh): a node with a bridge, three pods, an
# outside client.  Needs root.
#
#   bash tests/kernel/traffic.sh BUILD_DIR [-v]
#
# One line per check, then "N passed, M failed"; exit 1 if anything failed,
# 77 if it cannot run here (not root, no br_netfilter).
set -u
BUILD=${1:-build}
VERBOSE=0
[[ ${2:-} == -v ]] && VERBOSE=1

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=lib.sh
. "$HERE/lib.sh"

# ---- configs ----------------------------------------------------------------
# A: web (v4, TCP+UDP, 3 endpoints), web6 (the same over IPv6), other (an
# unrelated service), empty and empty6 (no endpoints).
# B: web loses pod3, a new service appears (on pod3).
A=$TOPO_TMP/a.svc B=$TOPO_TMP/b.svc
cat > "$A" <<EOF
cluster {
    pod-cidr 10.244.0.0/16;
    pod-cidr fd00:244::/32;
}
service default/web {
    vip 10.96.0.10;
    port http 80/tcp -> 8080;
    port dns 80/udp -> 8080;
    endpoint ${P4[0]}; endpoint ${P4[1]}; endpoint ${P4[2]};
}
service default/web6 {
    vip fd00:96::10;
    port http 80/tcp -> 8080;
    port dns 80/udp -> 8080;
    endpoint ${P6[0]}; endpoint ${P6[1]}; endpoint ${P6[2]};
}
service default/other {
    vip 10.96.0.20;
    port 80 -> 8080;
    endpoint ${P4[0]}; endpoint ${P4[1]}; endpoint ${P4[2]};
}
service default/empty {
    vip 10.96.0.11;
    port 80/tcp;
    port 80/udp;
}
service default/empty6 {
    vip fd00:96::11;
    port 80/tcp;
    port 80/udp;
}
EOF
sed "/service default\/web {/,/^}/s/ endpoint ${P4[2]};//" "$A" > "$B"
cat >> "$B" <<EOF
service default/new {
    vip 10.96.0.30;
    port 80 -> 8080;
    endpoint ${P4[2]};
}
EOF

# ---- A: apply, then again (nothing sent) ---------------------------------------
check "svcc apply A into an empty node" apply "$A"
out=$(apply -v "$A" 2>&1)
check "applying A again sends nothing [$out]" grep -q ' 0 messages' <<<"$out"

# ---- round robin and masquerade ------------------------------------------------
for proto in tcp udp; do
	out=$(in_outside "$PROBE" $proto 10.96.0.10 80 30 --timeout-ms 1000); show "$out"
	check "$proto outside->VIP 30x lands 10/10/10 [$(dist "$out")]" expect_even "$out" 10 "${P4[@]}"
	check "$proto outside->VIP: endpoints see the node's address $TOPO_NODE_BR4 (masquerade)" \
		all_lines "$out" "\$2 == \"$TOPO_NODE_BR4\""
	out=$(in_pod 2 "$PROBE" $proto 10.96.0.10 80 30 --timeout-ms 1000); show "$out"
	check "$proto pod2->VIP 30x lands 10/10/10 [$(dist "$out")]" expect_even "$out" 10 "${P4[@]}"
	check "$proto pod2->VIP: other pods see pod2's own address; hairpin to pod2 is masqueraded" \
		all_lines "$out" "(\$1 != \"${P4[1]}\" && \$2 == \"${P4[1]}\") || (\$1 == \"${P4[1]}\" && \$2 == \"$TOPO_NODE_BR4\")"
	out=$(in_outside "$PROBE" $proto fd00:96::10 80 30 --timeout-ms 1000); show "$out"
	check "$proto outside->VIP6 30x lands 10/10/10 [$(dist "$out")]" expect_even "$out" 10 "${P6[@]}"
	check "$proto outside->VIP6: endpoints see $TOPO_NODE_BR6" all_lines "$out" "\$2 == \"$TOPO_NODE_BR6\""
done
out=$(in_node "$PROBE" tcp 10.96.0.10 80 6 --timeout-ms 1000); show "$out"
check "tcp node->VIP (output hook) 6x lands 2/2/2 [$(dist "$out")]" expect_even "$out" 2 "${P4[@]}"

# ---- no endpoints: refused at once ------------------------------------------------
for proto in tcp udp; do
	reject_check in_outside outside $proto 10.96.0.11
	reject_check in_pod1 pod1 $proto 10.96.0.11
	reject_check in_outside outside $proto fd00:96::11
done
reject_check in_node node tcp 10.96.0.11
# From the node the reject happens in the output hook: the sender gets EPERM.
reject_check in_node node udp 10.96.0.11 denied

# ---- incremental A -> B with a connection held to an unaffected service ----------
plan=$(apply --dry-run "$B")
show "$plan"
check "dry run A->B names web's chains and the new service" \
	eval 'grep -q "svc-default/web/tcp/80" <<<"$plan" && grep -q "svc-default/new/tcp/80" <<<"$plan"'
check "dry run A->B leaves other, web6 and the no-endpoint services alone" \
	eval '! grep -q "default/other\|default/web6\|10.96.0.11\|fd00:96::" <<<"$plan"'

HOLD_OUT="$TOPO_TMP/hold.out" STOP="$TOPO_TMP/hold.stop"
# A per-ping timeout under TCP's minimum RTO: a lost packet fails the ping.
in_outside "$PROBE" hold 10.96.0.20 80 15 50 --timeout-ms 180 --stop-file "$STOP" > "$HOLD_OUT" 2>&1 &
hold_pid=$!
TOPO_PIDS+=("$hold_pid")
wait_oks() {	# N: until at least N pings answered (~5 s at most)
	local i
	for ((i = 0; i < 100; i++)); do
		(($(grep -c '^ok ' "$HOLD_OUT") >= $1)) && return 0
		grep -q '^fail\|^done' "$HOLD_OUT" && return 1
		sleep 0.05
	done
	return 1
}
wait_oks 3
before=$(grep -c '^ok ' "$HOLD_OUT")
out=$(apply -v "$B" 2>&1)
check "svcc apply B incrementally [$out]" eval '[[ $out == *" messages"* ]]'
msgs=$(sed -n 's/.* \([0-9]*\) messages.*/\1/p' <<<"$out")
check "A->B is a handful of netlink messages (${msgs:-?})" eval '((${msgs:-999} <= 30))'
wait_oks $((before + 5))
touch "$STOP"
wait "$hold_pid"
hold_rc=$?
after=$(grep -c '^ok ' "$HOLD_OUT")
show "$(cat "$HOLD_OUT")"
check "established TCP connection to other kept working across A->B ($before pings before, $((after - before)) after)" \
	eval '((hold_rc == 0 && after >= before + 5)) && ! grep -q "^fail" "$HOLD_OUT"'

out=$(in_outside "$PROBE" tcp 10.96.0.10 80 10 --timeout-ms 1000); show "$out"
check "after B: web lands 5/5 on pod1/pod2 [$(dist "$out")]" expect_even "$out" 5 "${P4[0]}" "${P4[1]}"
out=$(in_outside "$PROBE" tcp 10.96.0.30 80 4 --timeout-ms 1000); show "$out"
check "after B: the new service lands on pod3 [$(dist "$out")]" expect_even "$out" 4 "${P4[2]}"
out=$(in_outside "$PROBE" udp 10.96.0.20 80 9 --timeout-ms 1000); show "$out"

# ---- drift inside a kept chain is repaired ------------------------------------------
# A rule added underneath into a chain svcc keeps jumps to a chain svcc will
# delete: the read-back reads the rules (someone else committed), finds the
# chain changed and rewrites it before deleting the foreign chain, in one
# transaction the kernel takes.
in_node nft add chain inet svcc foreign
in_node nft add rule inet svcc svc-default/other/tcp/80 jump foreign
out=$(apply "$A" 2>&1); rc=$?
show "$out"
check "drift under a kept chain: repaired in one transaction [rc=$rc, $out]" \
	eval '((rc == 0)) && [[ -z $out ]]'
list > "$TOPO_TMP/repaired"
fresh=$(unshare -n sh -c "'$SVCC' apply '$A' && nft list table inet svcc" | sed "$MASK_GENID")
check "the repaired table holds what a fresh apply of A holds" \
	eval '[[ "$(behaviour < "$TOPO_TMP/repaired")" == "$(behaviour <<<"$fresh")" ]]'
out=$(in_outside "$PROBE" tcp 10.96.0.20 80 30 --timeout-ms 1000); show "$out"
check "after repair: other lands 10/10/10 [$(dist "$out")]" expect_even "$out" 10 "${P4[@]}"

# ---- a rejected transaction changes nothing; a later apply recovers --------------
# rt-driver inject sends A->B with a failing operation appended.
before_list=$(list)
out=$(in_node "$(realpath "$BUILD/tests/runtime/rt-driver")" inject "$B" 2>&1); show "$out"
check "the kernel refuses the injected batch [$out]" grep -q "rejected as expected" <<<"$out"
check "... and the table is byte-identical to before" eval '[[ "$(list)" == "$before_list" ]]'
out=$(in_outside "$PROBE" tcp 10.96.0.10 80 30 --timeout-ms 1000); show "$out"
check "... and traffic follows A still: web lands 10/10/10 [$(dist "$out")]" expect_even "$out" 10 "${P4[@]}"
check "a later apply of B recovers" apply "$B"
out=$(in_outside "$PROBE" tcp 10.96.0.10 80 10 --timeout-ms 1000); show "$out"
check "after recovery: web lands 5/5 on pod1/pod2 [$(dist "$out")]" expect_even "$out" 5 "${P4[0]}" "${P4[1]}"

finish
