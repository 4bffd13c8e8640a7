#!/usr/bin/env bash
# sctp.sh - SCTP services with real packets, on kernels without an SCTP
# stack: SCTP sockets may be missing (CONFIG_IP_SCTP off), but netfilter's
# SCTP conntrack and NAT are what svcc's rules need, and raw sockets for
# protocol 132 work either way.  sctp-raw.c sends INIT chunks (verification
# tag 0, random initiate tag, CRC32c) from distinct source ports - each a
# new conntrack entry - and listens in the pods, printing what arrived.
# Needs root.
#
#   bash tests/kernel/sctp.sh BUILD_DIR [-v]     (VIA=--via=nft: the text path)
#
# Checked: an SCTP port (3868/sctp -> 13868) DNATs 30 INITs 10/10/10 to
# the three pods, with the target port, masqueraded to the node's bridge
# address when the client is outside (fully-random: source ports remapped),
# not masqueraded from a pod except on hairpin; the packets arrive with a
# valid CRC32c (NAT recomputed it) and intact initiate tags; conntrack holds
# them as SCTP entries; a TCP port of the same service still balances; an
# INIT with a bad CRC32c is invalid to conntrack and reaches nobody; an SCTP
# port without endpoints is answered with ICMP port unreachable and reaches
# nobody.
#
# One line per check, then "sctp: N passed, M failed"; exit 1 if anything
# failed, 77 if it cannot run here (not root, no br_netfilter, no SCTP
# conntrack in the kernel).
# shellcheck disable=SC2016,SC2034,SC2317  # checks are eval'd; BUILD and VERBOSE are lib.sh's
set -u
BUILD=${1:-build}
VERBOSE=0
[[ ${2:-} == -v ]] && VERBOSE=1
VIA=${VIA:-}

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

# The kernel's configuration, when it tells: SCTP conntrack (and, before
# Linux 5.1, SCTP NAT) were separate options.
if [[ -r /proc/config.gz ]] && command -v zcat >/dev/null; then
	kcfg=$(zcat /proc/config.gz 2>/dev/null)
	if ! grep -qE '^CONFIG_NF_CT_PROTO_SCTP=[ym]' <<<"$kcfg"; then
		echo "sctp.sh: kernel $(uname -r) has no SCTP conntrack (CONFIG_NF_CT_PROTO_SCTP not set) (skipped)"
		exit 77
	fi
	if grep -q '^# CONFIG_NF_NAT_PROTO_SCTP is not set' <<<"$kcfg"; then
		echo "sctp.sh: kernel $(uname -r) has no SCTP NAT (CONFIG_NF_NAT_PROTO_SCTP not set) (skipped)"
		exit 77
	fi
	unset kcfg
fi

# shellcheck source=tests/kernel/lib.sh
. "$HERE/lib.sh"	# root check, topology up (77 without br_netfilter), echo servers on 8080
finish() { echo "sctp: $PASS passed, $FAIL failed"; ((FAIL == 0)); exit $?; }

RAW=$TOPO_BIN/sctp-raw
if [[ ! -x $RAW || $HERE/sctp-raw.c -nt $RAW ]]; then	# temp name, then rename (parallel runs)
	if ! ${CC:-cc} -std=c11 -Wall -Wextra -Werror -D_GNU_SOURCE -O2 -o "$RAW.tmp.$$" "$HERE/sctp-raw.c" ||
		! mv -f "$RAW.tmp.$$" "$RAW"; then
		rm -f "$RAW.tmp.$$"
		echo "sctp.sh: cannot build sctp-raw"
		exit 1
	fi
fi
check "sctp-raw's CRC32c gives the standard check value" eval '"$RAW" selftest >/dev/null'

OUT4=$TOPO_OUTSIDE4 BR=$TOPO_NODE_BR4 NODE=$TOPO_NODE_OUT4

# node_ct: the node's conntrack table, one entry a line (procfs or conntrack(8))
node_ct() {
	if in_node test -r /proc/net/nf_conntrack; then
		in_node cat /proc/net/nf_conntrack
	elif command -v conntrack >/dev/null; then
		in_node conntrack -L 2>/dev/null
	else
		return 1
	fi
}

# ---- config ----------------------------------------------------------------------
C=$TOPO_TMP/sctp.svc
cat > "$C" <<EOF
cluster {
    pod-cidr 10.244.0.0/16;
}
service telecom/diameter {
    vip 10.96.0.40;
    port diameter 3868/sctp -> 13868;
    port diameter-tcp 3868/tcp -> 8080;
    endpoint ${P4[0]}; endpoint ${P4[1]}; endpoint ${P4[2]};
}
service telecom/diameter-none {            # no endpoints: rejected
    vip 10.96.0.41;
    port 3868/sctp;
}
EOF
# shellcheck disable=SC2086  # $VIA: nothing or one word
check "svcc apply of an SCTP service (3868/sctp -> 13868) and one without endpoints${VIA:+ ($VIA)}" apply $VIA "$C"
show "$(list)"

# ---- does conntrack know SCTP?  (Only now: conntrack hooks a namespace once
# a ruleset there needs it.)  One INIT to the node's own address: an SCTP
# entry (with ports) if it does, "unknown 132" (generic, no ports) if not.
in_outside "$RAW" send "$OUT4" "$NODE" 9 1 --sport-base 39999 >/dev/null ||
	{ echo "sctp.sh: cannot send SCTP over a raw socket"; exit 1; }
sleep 0.05
if ct=$(node_ct); then
	show "$ct"
	if grep -qE '(^| )sctp .*sport=39999 dport=9 ' <<<"$ct"; then
		ok "the kernel tracks SCTP: an INIT to the node is an SCTP conntrack entry [$(grep -E 'sport=39999 ' <<<"$ct" | awk '{ for (i = 1; i <= NF; i++) if ($i == "sctp") { print $(i + 3); exit } }')]"
	elif grep -qE 'unknown +132 ' <<<"$ct"; then
		echo "sctp.sh: kernel $(uname -r) tracks protocol 132 generically (no SCTP conntrack, so no SCTP port NAT) (skipped)"
		exit 77
	else
		not_ok "an INIT to the node left no conntrack entry (invalid to SCTP conntrack?) [$(in_node conntrack -S 2>/dev/null | tr -s ' \n' ' ')]"
		finish
	fi
fi


# ---- listeners ---------------------------------------------------------------------
# listen_start TAG: "sctp-raw listen" on every pod address (stops on SIGTERM)
LPIDS=()
listen_start() {
	local tag=$1 n i ok
	LPIDS=()
	for n in 1 2 3; do
		in_pod "$n" "$RAW" listen "${P4[n-1]}" 10 >"$TOPO_TMP/$tag-$n.out" 2>"$TOPO_TMP/$tag-$n.err" &
		LPIDS+=($!)
		TOPO_PIDS+=($!)
	done
	for ((i = 0; i < 100; i++)); do
		ok=1
		for n in 1 2 3; do grep -qs '^ready' "$TOPO_TMP/$tag-$n.err" || ok=0; done
		((ok)) && return 0
		sleep 0.02
	done
	echo "sctp.sh: listeners not ready:" >&2
	cat "$TOPO_TMP/$tag"-*.err >&2
	return 1
}
# listen_stop TAG: let packets in flight land, stop the listeners, print
# everything received ("SRC SPORT DST DPORT CHUNK ITAG VTAG CRC")
listen_stop() {
	local tag=$1 pid
	sleep 0.2
	for pid in "${LPIDS[@]}"; do kill "$pid" 2>/dev/null; done
	for pid in "${LPIDS[@]}"; do wait "$pid" 2>/dev/null; done
	cat "$TOPO_TMP/$tag"-[123].out
}
# dist of received lines by destination address (column 3)
rdist() { awk 'NF { c[$3]++ } END { for (k in c) printf "%s:%d\n", k, c[k] }' <<<"$1" | sort | tr '\n' ' '; }
rcount() { awk -v a="$2" '$3 == a { n++ } END { print n + 0 }' <<<"$1"; }
# even RECEIVED N: every pod got exactly N, 3N lines in all
even() {
	local n
	for n in 0 1 2; do [[ $(rcount "$1" "${P4[n]}") == "$2" ]] || return 1; done
	[[ $(grep -c . <<<"$1") == $((3 * $2)) ]]
}
# tags_match SENT RECEIVED: the initiate tags received are exactly those sent, once each
tags_match() {
	diff <(awk '$1 == "sent" { print $3 }' <<<"$1" | sort) <(awk 'NF { print $6 }' <<<"$2" | sort) >/dev/null
}
# joined SENT RECEIVED: the received lines, each with the source port its INIT
# was sent from (found by its initiate tag) appended as column 9
joined() { awk 'NR == FNR { if ($1 == "sent") sp[$3] = $2; next } NF { print $0, ($6 in sp ? sp[$6] : "?") }' <(echo "$1") <(echo "$2"); }

# ---- outside -> VIP: round robin, DNAT with the port, masquerade ---------------------
listen_start out || { not_ok "listeners start"; finish; }
sent=$(in_outside "$RAW" send "$OUT4" 10.96.0.40 3868 30 --sport-base 40000)
got=$(listen_stop out)
show "$sent" "$got"
check "sctp outside->10.96.0.40:3868 30 INITs land 10/10/10 [$(rdist "$got")]" even "$got" 10
check "sctp: each arrives at its pod's own address, port 13868 (DNAT with the target port)" \
	all_lines "$got" '$3 ~ /^10\.244\.1\.1[123]$/ && $4 == 13868'
check "sctp outside->VIP is masqueraded: the pods see source $BR" all_lines "$got" "\$1 == \"$BR\""
check "sctp: every INIT arrives once, initiate tag intact, verification tag 0, CRC32c valid (NAT fixed it)" \
	eval 'tags_match "$sent" "$got" && all_lines "$got" "\$5 == \"init\" && \$7 == \"0x00000000\" && \$8 == \"crc-ok\""'
j=$(joined "$sent" "$got")
remapped=$(awk '$2 != $9 { n++ } END { print n + 0 }' <<<"$j")
# fully-random: every port remapped; 30 draws from ~28k ports collide now
# and then (1.5%), so "distinct" allows a couple of repeats
distinct=$(awk 'NF { print $2 }' <<<"$got" | sort -u | wc -l)
check "sctp masquerade (fully-random) remaps every source port [$remapped/30 differ from the client's, $distinct distinct]" \
	eval '((remapped == 30 && distinct >= 27))'
if ct=$(node_ct); then
	ct=$(grep -E "(^| )sctp .*src=$OUT4 dst=10\.96\.0\.40 sport=4[0-9]{4} dport=3868 " <<<"$ct")
	show "$ct"
	st=$(awk '{ for (i = 1; i <= NF; i++) if ($i == "sctp") { print $(i + 3); break } }' <<<"$ct" | sort | uniq -c | tr -s ' \n' ' ')
	check "node conntrack: 30 SCTP entries for them, replies from the pods' port 13868 to $BR [state${st}]" eval '
		[[ $(grep -c . <<<"$ct") == 30 ]] &&
		[[ $(grep -cE "src=10\.244\.1\.1[123] dst=$BR sport=13868 " <<<"$ct") == 30 ]]'
fi

# ---- the TCP port of the same service --------------------------------------------------
out=$(in_outside "$PROBE" tcp 10.96.0.40 3868 30 --timeout-ms 1000); show "$out"
check "tcp outside->10.96.0.40:3868 (same service) lands 10/10/10 on :8080 [$(dist "$out")]" \
	eval 'expect_even "$out" 10 "${P4[@]}" && all_lines "$out" "\$4 == 8080"'

# ---- pod2 -> VIP: no masquerade, except hairpin -----------------------------------------
listen_start pod || { not_ok "listeners start"; finish; }
sent=$(in_pod 2 "$RAW" send "${P4[1]}" 10.96.0.40 3868 30 --sport-base 42000)
got=$(listen_stop pod)
show "$sent" "$got"
j=$(joined "$sent" "$got")
check "sctp pod2->10.96.0.40:3868 30 INITs land 10/10/10 on :13868 [$(rdist "$got")]" \
	eval 'even "$got" 10 && all_lines "$got" "\$4 == 13868 && \$8 == \"crc-ok\"" && tags_match "$sent" "$got"'
check "sctp pod2->VIP: pod1/pod3 see ${P4[1]} with its own source port; pod2 (hairpin) sees $BR" \
	all_lines "$j" "(\$3 != \"${P4[1]}\" && \$1 == \"${P4[1]}\" && \$2 == \$9) || (\$3 == \"${P4[1]}\" && \$1 == \"$BR\")"

# ---- refused: bad checksum, no endpoints -------------------------------------------------
listen_start refuse || { not_ok "listeners start"; finish; }
inv0=$(in_node conntrack -S 2>/dev/null | awk '{ for (i = 1; i <= NF; i++) if ($i ~ /^invalid=/) { sub(/invalid=/, "", $i); n += $i } } END { print n + 0 }')
bad=$(in_outside "$RAW" send "$OUT4" 10.96.0.40 3868 3 --sport-base 44000 --bad-crc)
inv1=$(in_node conntrack -S 2>/dev/null | awk '{ for (i = 1; i <= NF; i++) if ($i ~ /^invalid=/) { sub(/invalid=/, "", $i); n += $i } } END { print n + 0 }')
t0=$(date +%s%N)
icmp=$(in_outside "$RAW" send "$OUT4" 10.96.0.41 3868 3 --sport-base 45000 --icmp-ms 1500)
ms=$(elapsed_ms "$t0")
got=$(listen_stop refuse)
show "$bad" "$icmp" "$got"
if command -v conntrack >/dev/null; then
	check "sctp INITs with a bad CRC32c are invalid to the node's conntrack [invalid +$((inv1 - inv0))]" \
		eval '((inv1 - inv0 >= 3))'
else
	not_ok "sctp INITs with a bad CRC32c: conntrack(8) is not installed to count them (apt-get install conntrack)"
fi
check "sctp to 10.96.0.41:3868 (no endpoints): ICMP port unreachable from $NODE for each INIT [${ms}ms]" eval '
	[[ $(grep -c "^icmp 3 3 $NODE 10\.96\.0\.41 3868 4500[012]\$" <<<"$icmp") == 3 ]] && ((ms < 1000))'
check "neither the bad-CRC INITs nor those without endpoints reach any pod [$(rdist "$got")]" \
	eval '[[ -z $(grep . <<<"$got") ]]'

finish
