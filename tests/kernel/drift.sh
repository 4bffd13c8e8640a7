#!/usr/bin/env bash
# drift.sh - every kind of damage another program can do to svcc's table
# with nft: `svcc verify` finds it (exit 1, names it), the next `svcc apply`
# repairs it (the table lists as before, verify exits 0, a second apply
# sends nothing), and traffic through the service works again.  Foreign
# tables are byte-identical at the end.  Needs root.
#
#   bash tests/kernel/drift.sh BUILD_DIR [-v]     (VIA=--via=nft: the text path)
set -u
BUILD=${1:-build}
VERBOSE=0
[[ ${2:-} == -v ]] && VERBOSE=1
VIA=${VIA:-}

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=lib.sh
. "$HERE/lib.sh"

NODE=$TOPO_NODE_OUT4
C=$TOPO_TMP/drift.svc
cat > "$C" <<EOF
cluster {
    pod-cidr 10.244.0.0/16;
    node-ip $NODE;
}
service default/web {
    vip 10.96.0.10;
    port 80 -> 8080;
    endpoint ${P4[0]}; endpoint ${P4[1]}; endpoint ${P4[2]};
}
service default/np {
    vip 10.96.0.13;
    port 80 -> 8080;
    nodeport 30080;
    endpoint ${P4[0]};
}
service default/public {
    vip 10.96.0.12;
    port 80 -> 8080;
    load-balancer 198.51.100.7;
    source-ranges 192.168.50.0/24;
    endpoint ${P4[1]};
}
service default/empty {
    vip 10.96.0.11;
    port 80;
}
EOF
WEB=svc-default/web/tcp/80

# foreign tables: never touched by anything svcc does
in_node nft -f - <<'EOF'
table inet filter {
	chain input { type filter hook input priority 0; policy accept; tcp dport 2222 counter accept; }
}
table ip nat {
	chain postrouting { type nat hook postrouting priority 100; policy accept; oifname "nosuch0" masquerade; }
}
EOF
foreign() { in_node nft list table inet filter; in_node nft list table ip nat; }
foreign_before=$(foreign)

# the table as nft lists it, each chain, set and map a block, blocks in name
# order: a chain re-created is listed last, and that is no difference
canon() {
	list | awk '/^\t(chain|set|map) / { b = $0; inb = 1; next }
		inb { b = b "|" $0; if ($0 == "\t}") { print b; inb = 0 }; next }
		{ print "  " $0 }' | sort
}

check "svcc apply of the config" apply $VIA "$C"
ref=$(canon)
out=$(in_node "$SVCC" verify "$C" 2>&1); rc=$?
check "verify right after apply: identical (exit $rc) [$out]" eval '((rc == 0))'
out=$(in_node "$SVCC" verify < "$C" 2>&1); rc=$?
check "verify of the config on standard input: identical (exit $rc) [$out]" eval '((rc == 0))'

# set names of this config, as the compiler gives them
EPMAP=$(in_node nft list chain inet svcc $WEB | sed -n 's/.*map @\(endpoints-tcp-[0-9]*\).*/\1/p')
EPKEY=$(in_node nft list map inet svcc "$EPMAP" | sed -n 's/^[[:space:]]*elements = { \([0-9]*\) :.*/\1/p')
HPSET=$(in_node nft list table inet svcc | sed -n 's/^\tset \(hairpin-[0-9]*\) {.*/\1/p' | head -1)
web_handle() { in_node nft -a list chain inet svcc $WEB | sed -n "/$1/s/.*# handle \([0-9]*\)$/\1/p"; }

# drift NAME EXPECT NFT-SCRIPT [broken]: damage, verify names EXPECT, apply
# repairs; "broken": the damage is seen to stop web's traffic first
drift() {
	local name=$1 want=$2 script=$3 out rc v
	in_node nft -f - <<<"$script" || { not_ok "$name: the damage could not be made"; return; }
	if [[ ${4:-} == broken ]]; then
		out=$(in_outside "$PROBE" tcp 10.96.0.10 80 3 --timeout-ms 300); show "$out"
		check "$name: web's traffic is broken by it [$(dist "$out")]" \
			eval '! expect_even "$out" 1 "${P4[@]}"'
		# those attempts left conntrack entries without NAT: a later
		# probe from a reused source port would follow them, not the rules
		in_node conntrack -F > /dev/null 2>&1
	fi
	out=$(in_node "$SVCC" verify "$C" 2>/dev/null); rc=$?
	show "$out"
	check "$name: verify exits 1 and names $want" eval '((rc == 1)) && grep -qF -- "$want" <<<"$out"'
	out=$(apply $VIA -v "$C" 2>&1); rc=$?
	show "$out"
	check "$name: the next apply repairs it [$out]" eval '((rc == 0)) && [[ "$(canon)" == "$ref" ]]'
	v=$(in_node "$SVCC" verify "$C" 2>&1); rc=$?
	check "$name: verify after the repair exits 0 [$v]" eval '((rc == 0))'
	out=$(apply -v "$C" 2>&1)
	check "$name: an apply after that sends nothing [$out]" grep -q ' 0 messages' <<<"$out"
	out=$(in_outside "$PROBE" tcp 10.96.0.10 80 9 --timeout-ms 1000); show "$out"
	check "$name: traffic to web lands 3/3/3 again [$(dist "$out")]" expect_even "$out" 3 "${P4[@]}"
}

# ---- rules and chains ---------------------------------------------------------
drift "rule inserted" "flush chain inet svcc $WEB" \
	"insert rule inet svcc $WEB drop" broken
drift "rule deleted" "add rule inet svcc $WEB meta l4proto tcp dnat" \
	"delete rule inet svcc $WEB handle $(web_handle dnat)"
drift "rule replaced" "add rule inet svcc $WEB meta l4proto tcp dnat" \
	"replace rule inet svcc $WEB handle $(web_handle dnat) meta l4proto tcp dnat ip to 10.244.1.11:8080"
drift "rule appended to a base chain" "chain inet svcc nat-prerouting" \
	"add rule inet svcc nat-prerouting tcp dport 80 drop"
drift "chain flushed" "add rule inet svcc $WEB meta l4proto tcp dnat" \
	"flush chain inet svcc $WEB" broken
drift "chain deleted" "add chain inet svcc $WEB" \
	"delete element inet svcc service-ips { 10.96.0.10 . tcp . 80 }
delete chain inet svcc $WEB"
drift "foreign chain and set added to svcc's table" "delete chain inet svcc intruder" \
	"add chain inet svcc intruder
add set inet svcc intruder-set { type ipv4_addr; }"
drift "base chain policy drop" "add chain inet svcc filter-forward" \
	"add chain inet svcc filter-forward { policy drop; }" broken
drift "base chain priority changed" "add chain inet svcc nat-prerouting" \
	"delete chain inet svcc nat-prerouting
add chain inet svcc nat-prerouting { type nat hook prerouting priority 10; }
add rule inet svcc nat-prerouting jump services"
drift "table made dormant" "add table inet svcc" \
	"add table inet svcc { flags dormant; }" broken

# ---- elements, of every kind of set and map -----------------------------------
drift "interval set: element added" "delete element inet svcc pod-cidrs" \
	"add element inet svcc pod-cidrs { 192.168.50.0/24 }"
drift "interval set: element deleted" "add element inet svcc pod-cidrs" \
	"delete element inet svcc pod-cidrs { 10.244.0.0/16 }"
drift "interval set flushed" "add element inet svcc pod-cidrs" \
	"flush set inet svcc pod-cidrs"
drift "verdict map: element added" "delete element inet svcc service-ips" \
	"add element inet svcc service-ips { 10.96.0.99 . tcp . 80 : goto $WEB }"
drift "verdict map: element changed" "goto $WEB" \
	"delete element inet svcc service-ips { 10.96.0.10 . tcp . 80 }
add element inet svcc service-ips { 10.96.0.10 . tcp . 80 : goto svc-default/public/tcp/80 }"
drift "verdict map: element deleted" "add element inet svcc service-ips" \
	"delete element inet svcc service-ips { 10.96.0.10 . tcp . 80 }" broken
drift "verdict map flushed" "add element inet svcc service-ips" \
	"flush map inet svcc service-ips"
drift "endpoint map: element changed" "add element inet svcc $EPMAP" \
	"delete element inet svcc $EPMAP { $EPKEY }
add element inet svcc $EPMAP { $EPKEY : 10.244.1.99 . 8080 }"
drift "endpoint map: element added" "delete element inet svcc $EPMAP" \
	"add element inet svcc $EPMAP { 999 : 10.244.1.99 . 8080 }"
drift "endpoint map flushed" "add element inet svcc $EPMAP" \
	"flush map inet svcc $EPMAP" broken
drift "concatenated set: element deleted" "add element inet svcc no-endpoints" \
	"delete element inet svcc no-endpoints { 10.96.0.11 . tcp . 80 }"
drift "concatenated set: element added" "delete element inet svcc $HPSET" \
	"add element inet svcc $HPSET { 10.244.9.9 . 10.244.9.9 }"
drift "concatenated range set: element added" "delete element inet svcc firewall-allow" \
	"add element inet svcc firewall-allow { 198.51.100.7 . tcp . 80 . 10.0.0.0/8 }"
drift "plain set: element added" "delete element inet svcc node-ips" \
	"add element inet svcc node-ips { 192.168.50.99 }"
drift "nodeport map: element deleted" "add element inet svcc nodeports" \
	"delete element inet svcc nodeports { tcp . 30080 }"
drift "hairpin shard map flushed" "add element inet svcc hairpin-shards" \
	"flush map inet svcc hairpin-shards"
drift "set deleted" "add set inet svcc no-endpoints" \
	"flush chain inet svcc reject-no-endpoints
delete set inet svcc no-endpoints"

# the bookkeeping map: not the ruleset, but an apply puts it right
in_node nft flush map inet svcc set-fingerprints
out=$(apply $VIA -v "$C" 2>&1)
out2=$(apply -v "$C" 2>&1)
check "set-fingerprints map flushed: apply rewrites it, the next sends nothing [$out2]" \
	eval '[[ "$(canon)" == "$ref" ]] && grep -q " 0 messages" <<<"$out2"'

# ---- a table of 20,200 chains: from 20,000 an apply reads the rules a dump per chain ----
B=$TOPO_TMP/big.svc
awk 'BEGIN {
	print "cluster {\n    pod-cidr 10.244.0.0/16;\n    service-cidr 10.96.0.0/12;\n}"
	for (i = 0; i < 20000; i++)
		printf "service big/s%d {\n    vip 10.96.%d.%d;\n    port 80;\n    endpoint 10.244.%d.%d;\n}\n",
			i, int(i / 250), i % 250 + 1, int(i / 250), i % 250 + 1
}' > "$B"
big_chain() { echo "svc-big/s$1/tcp/80"; }
out=$(apply "$B" 2>&1); rc=$?
nchains=$(in_node nft list chains inet | grep -c '^\s*chain svc-')
check "a table of $nchains service chains is applied [$out]" eval '((rc == 0 && nchains >= 20000))'
# damage in a chain near the start and one near the end of the kernel's list
in_node nft -f - <<EOF
insert rule inet svcc $(big_chain 7) drop
flush chain inet svcc $(big_chain 19993)
EOF
plan=$(apply --dry-run "$B" 2>&1)
rebuilt=$(sed -n 's/^add chain inet svcc \([^ ]*\) .*/\1/p' <<<"$plan" | sort | tr '\n' ' ')
check "20k chains: the repair rebuilds just the two damaged chains [${rebuilt:0:200}]" \
	eval '[[ "$rebuilt" == "$(big_chain 19993) $(big_chain 7) " ]]'
out=$(apply -v "$B" 2>&1); rc=$?
show "$out"
check "20k chains: the apply read every chain [$out]" \
	eval '((rc == 0)) && grep -Eq "2[0-9]{4} chains read" <<<"$out"'
v=$(in_node "$SVCC" verify "$B" 2>&1); rc=$?
check "20k chains: verify after the repair exits 0 [$v]" eval '((rc == 0))'
check "20k chains: the repaired chains hold their one rule" eval \
	'[[ $(in_node nft list chain inet svcc $(big_chain 7) | grep -c dnat) == 1 &&
	   $(in_node nft list chain inet svcc $(big_chain 19993) | grep -c dnat) == 1 ]] &&
	 ! in_node nft list chain inet svcc $(big_chain 7) | grep -q drop'

check "foreign tables are byte-identical after all of it" eval '[[ "$(foreign)" == "$foreign_before" ]]'
finish
