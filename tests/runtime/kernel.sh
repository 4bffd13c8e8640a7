#!/bin/sh
# Runtime tests against the real kernel, each in a private network namespace.
# Usage: tests/runtime/kernel.sh [BUILD_DIR]   (needs root; ends "N passed, M failed")
#
# - a table loaded through netlink lists byte-identically to `nft -f` of the
#   compiled text, and holds the same expressions, for every example and
#   golden config;
# - applying the same config twice sends nothing;
# - A -> B incrementally through netlink and through nft (--via=nft) list
#   the same, and hold the same as B loaded from scratch (also for the
#   firewall's ranges of concatenations and the nodeports map);
# - `diff A B` applied with `nft -f` on top of A gives the same table;
# - a batch the kernel rejects leaves the listing byte-identical;
# - drift made underneath with nft is repaired by the next apply;
# - client-ip affinity: the clients the packet path remembers survive an
#   apply, except those remembered on an endpoint the apply removed;
# - svcc_runtime_update leaves the model and the kernel as a whole apply;
# - svcc_runtime_read gives back what was applied, rules decoded;
# - a rolling update keeps every other endpoint's slot.
set -u
build=${1:-build}
drv=$(realpath "$build/svcc")
inj=$(realpath "$build/tests/runtime/rt-driver")	# can inject a failing operation
ex=$(realpath examples)
pass=0 fail=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

ok()  { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*"; }
# run a shell snippet in a fresh network namespace
ns()  { unshare -n sh -c "$1"; }
# The set-fingerprints map (runtime/state.h) holds the generation svcc's
# last batch committed as: it differs between namespaces, so listings mask it
list="nft list table inet svcc | sed 's/0x00000000 : 0x[0-9a-f]\{8\} \. 0x00000000/0x00000000 : GENID . 0x00000000/'"
# the rules as the kernel holds them, expression by expression
exprs='nft --debug=netlink list table inet svcc'
# A table loaded by `nft -f` has no set-fingerprints map: drop it from the
# listing (nomap) or expressions (nomapx) of one svcc loaded
nomap() {
	awk 'drop == 1 { if ($0 == "\t}") drop = 2; next }
	     drop == 2 { drop = 0; if ($0 == "") next }
	     $0 == "\tmap set-fingerprints {" { drop = 1; next }
	     { print }' "$1"
}
nomapx() {
	awk '/^inet svcc @/ { skip = $3 == "@set-fingerprints" }
	     !(skip && (/^inet svcc @/ || /^\telement /)) { print }' "$1" > "$1.nomap"
	nomap "$1.nomap"
}
# shellcheck source=tests/listing.sh
. tests/listing.sh
canon() { listing_lines < "$1"; }

# B: shop/frontend loses an endpoint, a service appears
A=$ex/cluster.svc B=$tmp/b.svc
sed '/endpoint 10.244.3.11;/d' "$A" > "$B"
cat >> "$B" <<'X'

service shop/ads {
    vip 10.100.12.99;
    port http 8088/tcp;
    endpoint 10.244.1.99;
}
X

# 1. netlink and nft -f of `svcc compile` load the same table, listed and
# expression by expression (hash sets dump in a random order: sorted);
# 2. the second apply sends nothing
for f in "$ex"/*.svc tests/golden/*.svc; do
	n=$(basename "$f" .svc)
	"$drv" compile "$f" > "$tmp/$n.txt" || { bad "compile $n"; continue; }
	if ! ns "'$drv' apply '$f' 2> '$tmp/$n.err'"; then
		bad "load $n: $(cat "$tmp/$n.err")"
		continue
	fi
	ns "'$drv' apply '$f' && $list > '$tmp/$n.nl' && $exprs > '$tmp/$n.nl.x' &&
	    '$drv' apply '$f' -v 2> '$tmp/$n.v' &&
	    nft -f '$tmp/$n.txt' && $list > '$tmp/$n.nft' && $exprs > '$tmp/$n.nft.x'" ||
		{ bad "load $n"; continue; }
	if grep -q 'map set-fingerprints' "$tmp/$n.nl"; then ok; else bad "no set-fingerprints map in $n"; fi
	if [ "$(nomap "$tmp/$n.nl")" = "$(cat "$tmp/$n.nft")" ]; then ok; else
		bad "listing $n"; nomap "$tmp/$n.nl" | diff - "$tmp/$n.nft" | head; fi
	if [ "$(nomapx "$tmp/$n.nl.x" | sort)" = "$(sort "$tmp/$n.nft.x")" ]; then ok; else
		bad "expressions $n"; nomapx "$tmp/$n.nl.x" | diff - "$tmp/$n.nft.x" | head; fi
	if grep -q ' 0 messages' "$tmp/$n.v"; then ok; else bad "second apply of $n: $(cat "$tmp/$n.v")"; fi
done

# 3. A -> B through netlink, through nft, and B from scratch
ns "'$drv' apply '$A' && '$drv' apply '$B' -v 2> '$tmp/ab.v' && $list > '$tmp/ab.nl'" || bad "A->B netlink"
ns "'$drv' apply --via=nft '$A' && '$drv' apply --via=nft '$B' 2> '$tmp/ab.nft.err' && $list > '$tmp/ab.nft'" ||
	bad "A->B nft: $(cat "$tmp/ab.nft.err")"
ns "'$drv' apply '$B' && $list > '$tmp/b.nl'" || bad "B"
if [ -f "$tmp/ab.nft" ]; then
	if cmp -s "$tmp/ab.nl" "$tmp/ab.nft"; then ok; else bad "A->B netlink vs nft"; diff "$tmp/ab.nl" "$tmp/ab.nft" | head; fi
fi
# chains re-created by the change list later than in a fresh load: compare lines
if [ "$(behaviour < "$tmp/ab.nl")" = "$(behaviour < "$tmp/b.nl")" ]; then ok; else
	bad "A->B content differs from B"
	behaviour < "$tmp/ab.nl" > "$tmp/ab.b"; behaviour < "$tmp/b.nl" | diff "$tmp/ab.b" - | head; fi
# 32: frontend's 10.244.3.11 is not in its last slot, so the last one moves into it
msgs=$(sed -n 's/.* \([0-9]*\) messages.*/\1/p' "$tmp/ab.v")
if [ "${msgs:-999}" -le 32 ]; then ok; else bad "A->B took ${msgs:-?} messages"; fi

# 3b. A -> B where the firewall's ranges of concatenations (a source range
# changed, a load-balancer address more) and the nodeports map change, and
# back: netlink and nft reach B as loaded from scratch, and B again sends
# nothing
g=$(realpath tests/golden)
sed -e 's|203.0.113.0/24, 10.0.0.0/8, 10.1.0.0/16;|203.0.113.128/25, 10.0.0.0/8, 192.168.7.7/32;|' \
    -e 's|load-balancer 198.51.100.8;|&\n    load-balancer 198.51.100.20;|' "$g/external.svc" > "$tmp/external-b.svc"
sed 's/nodeport http 30080;/nodeport http 30090;/' "$g/nodeport.svc" > "$tmp/nodeport-b.svc"
incremental() {	# NAME A B
	ns "'$drv' apply '$2' && '$drv' apply '$3' && $list > '$tmp/$1.nl' &&
	    '$drv' apply '$3' -v 2> '$tmp/$1.v'" || { bad "$1 netlink"; return; }
	ns "'$drv' apply --via=nft '$2' && '$drv' apply --via=nft '$3' 2> '$tmp/$1.err' &&
	    $list > '$tmp/$1.nft'" || { bad "$1 via nft: $(cat "$tmp/$1.err")"; return; }
	ns "'$drv' apply '$3' && $list > '$tmp/$1.b'" || { bad "$1 from scratch"; return; }
	if [ "$(canon "$tmp/$1.nl")" = "$(canon "$tmp/$1.b")" ]; then ok; else
		bad "$1 netlink differs from scratch"; diff "$tmp/$1.nl" "$tmp/$1.b" | head; fi
	if [ "$(canon "$tmp/$1.nft")" = "$(canon "$tmp/$1.b")" ]; then ok; else
		bad "$1 via nft differs from scratch"; diff "$tmp/$1.nft" "$tmp/$1.b" | head; fi
	if grep -q ' 0 messages' "$tmp/$1.v"; then ok; else bad "$1 then again: $(cat "$tmp/$1.v")"; fi
}
# the goldens may change: make sure the edits still took
if grep -q '198.51.100.20' "$tmp/external-b.svc" && grep -q '203.0.113.128/25' "$tmp/external-b.svc" &&
   grep -q 30090 "$tmp/nodeport-b.svc"; then ok; else bad "variants of external.svc and nodeport.svc not derived"; fi
incremental firewall "$g/external.svc" "$tmp/external-b.svc"
incremental firewall-back "$tmp/external-b.svc" "$g/external.svc"
incremental nodeports "$g/nodeport.svc" "$tmp/nodeport-b.svc"
incremental nodeports-back "$tmp/nodeport-b.svc" "$g/nodeport.svc"

# 3c. drift in a range of concatenations: a range that is no prefix makes
# the set foreign (re-created), an element too many or too few is repaired
for d in "add element inet svcc firewall-allow '{ 198.51.100.7 . tcp . 80 . 172.16.0.1-172.16.0.5 }'" \
	 "add element inet svcc firewall-allow '{ 198.51.100.0/24 . tcp . 80 . 1.1.1.1 }'" \
	 "add element inet svcc firewall-allow '{ 198.51.100.9 . udp . 1 . 1.2.3.4 }'" \
	 "delete element inet svcc firewall-allow '{ 198.51.100.7 . tcp . 80 . 10.0.0.0/8 }'"; do
	ns "'$drv' apply '$g/external.svc' && nft $d && '$drv' apply '$g/external.svc' &&
	    $list > '$tmp/fw-drift' &&
	    '$drv' apply '$g/external.svc' -v 2> '$tmp/fw-drift.v'" || { bad "drift run: $d"; continue; }
	if [ "$(canon "$tmp/fw-drift")" = "$(canon "$tmp/external.nl")" ] &&
	   grep -q ' 0 messages' "$tmp/fw-drift.v"; then ok; else bad "drift not repaired: $d"; fi
done

# 4. svcc diff: few commands, only the objects that changed; nft -f applies it on A
"$drv" diff "$A" "$B" > "$tmp/ab.diff" || bad "diff A B"
if grep -q 'shop/cart\|kube-dns' "$tmp/ab.diff"; then bad "diff touches unrelated services"; else ok; fi
if ns "nft -f '$tmp/cluster.txt' && nft -f '$tmp/ab.diff' 2> '$tmp/ab.diff.err' && $list > '$tmp/ab.diffed'"; then
	if [ "$(sort "$tmp/ab.diffed")" = "$(nomap "$tmp/b.nl" | sort)" ]; then ok; else bad "A + diff differs from B"; fi
else
	bad "nft -f of the diff: $(cat "$tmp/ab.diff.err")"
fi
# the same with a change nft can take: an endpoint moves, no rule is added
sed 's/endpoint 10.244.2.12;/endpoint 10.244.2.13;/' "$A" > "$tmp/c.svc"
"$drv" diff "$A" "$tmp/c.svc" > "$tmp/ac.diff" || bad "diff A C"
ns "nft -f '$tmp/cluster.txt' && nft -f '$tmp/ac.diff' && $list > '$tmp/ac.diffed'" || bad "nft -f of diff A C"
ns "'$drv' apply '$A' && '$drv' apply --via=nft '$tmp/c.svc' && $list > '$tmp/ac.nft' && '$drv' apply '$tmp/c.svc' -v 2> '$tmp/ac.v'" || bad "A->C via nft"
ns "'$drv' apply '$tmp/c.svc' && $list > '$tmp/c.nl'" || bad "C"
if [ "$(cat "$tmp/ac.diffed")" = "$(nomap "$tmp/c.nl")" ]; then ok; else
	bad "A + diff C differs from C"; nomap "$tmp/c.nl" | diff "$tmp/ac.diffed" - | head; fi
if cmp -s "$tmp/ac.nft" "$tmp/c.nl"; then ok; else bad "A->C via nft differs from C"; fi
if grep -q ' 0 messages' "$tmp/ac.v"; then ok; else bad "netlink after nft sends something: $(cat "$tmp/ac.v")"; fi
"$drv" diff "$A" "$A" > "$tmp/aa.diff"
if [ ! -s "$tmp/aa.diff" ]; then ok; else bad "diff A A is not empty"; fi

# 5. a rejected batch changes nothing, and the error names the operation
ns "'$drv' apply '$A' && $list > '$tmp/rej.before' && '$inj' inject '$B' 2> '$tmp/rej.err';
    $list > '$tmp/rej.after'" || bad "reject run"
if grep -q "rejected as expected: delete chain inet svcc svcc-no-such-chain" "$tmp/rej.err"; then ok; else bad "inject: $(cat "$tmp/rej.err")"; fi
if cmp -s "$tmp/rej.before" "$tmp/rej.after"; then ok; else bad "rejected batch changed the table"; fi

# 6. drift underneath is seen by the read-back and repaired
ns "'$drv' apply '$A' && $list > '$tmp/drift.before' &&
    nft delete element inet svcc service-ips '{ 10.96.0.10 . udp . 53 }' &&
    nft add element inet svcc no-endpoints '{ 10.1.1.1 . tcp . 1 }' &&
    nft delete chain inet svcc svc-shop/cart/tcp/7070 2>/dev/null;
    nft add chain inet svcc bogus &&
    '$drv' apply '$A' && $list > '$tmp/drift.after'" || bad "drift run"
if [ "$(sort "$tmp/drift.before")" = "$(sort "$tmp/drift.after")" ]; then ok; else bad "drift not repaired"; diff "$tmp/drift.before" "$tmp/drift.after" | head; fi

# 7. delete: the table goes; deleting nothing is fine
ns "'$drv' apply '$A' && '$drv' delete && ! nft list table inet svcc 2>/dev/null && '$drv' delete" && ok || bad "delete"

# 8. another table name
ns "'$drv' --table kp apply '$A' && nft list table inet kp > /dev/null && '$drv' --table kp apply '$A' -v 2> '$tmp/kp.v'" || bad "--table"
if grep -q ' 0 messages' "$tmp/kp.v"; then ok; else bad "--table second apply"; fi

# 9. bad config: exit 1, the error, and the kernel's table untouched
ns "'$drv' apply '$A' && $list > '$tmp/bad.before' &&
    { '$drv' apply '$ex/../tests/bad/duplicate-vip-port.svc' 2> '$tmp/bad.err'; echo \$? > '$tmp/bad.rc'; } &&
    $list > '$tmp/bad.after'" || bad "bad config run"
if [ "$(cat "$tmp/bad.rc")" = 1 ] && grep -q 'error: .* is taken by service' "$tmp/bad.err" &&
   cmp -s "$tmp/bad.before" "$tmp/bad.after"; then ok; else bad "bad config: rc $(cat "$tmp/bad.rc")"; fi

# 10. without CAP_NET_ADMIN: exit 3 and a plain reason.  uid 65534 runs a
# copy of the command and configs in a directory of its own: the checkout
# may be where nobody can reach it (/root is 0700)
if command -v setpriv > /dev/null; then
	nob=$(mktemp -d /tmp/svcc-nobody.XXXXXX)
	cp "$drv" "$nob/svcc" && cp "$A" "$nob/a.svc" && cp tests/bad/duplicate-vip-port.svc "$nob/bad.svc" &&
		chmod 755 "$nob" "$nob/svcc" && chmod 644 "$nob/a.svc" "$nob/bad.svc" || bad "copy for uid 65534"
	ns "setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all '$nob/svcc' apply '$nob/a.svc' 2> '$tmp/perm.err'; echo \$? > '$tmp/perm.rc'"
	if [ "$(cat "$tmp/perm.rc")" = 3 ] && grep -q 'CAP_NET_ADMIN' "$tmp/perm.err"; then ok; else
		bad "no privilege: rc $(cat "$tmp/perm.rc"): $(cat "$tmp/perm.err")"; fi
	# the read-back runs while the config is read: a bad config is still
	# a bad config (exit 1, its errors alone), whatever the kernel said
	ns "setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all '$nob/svcc' apply '$nob/bad.svc' 2> '$tmp/perm2.err'; echo \$? > '$tmp/perm2.rc'"
	if [ "$(cat "$tmp/perm2.rc")" = 1 ] && grep -q 'error: .* is taken by service' "$tmp/perm2.err" &&
	   ! grep -q 'CAP_NET_ADMIN' "$tmp/perm2.err"; then ok; else
		bad "no privilege, bad config: rc $(cat "$tmp/perm2.rc"): $(cat "$tmp/perm2.err")"; fi
	rm -rf "$nob"
else
	bad "no privilege: setpriv (util-linux) is not installed"
fi

# 11. dry run: the plan of A->B names only what changes, and sends nothing
ns "'$drv' apply '$A' && $list > '$tmp/dry.before' && '$drv' apply --dry-run '$B' > '$tmp/dry.plan' &&
    $list > '$tmp/dry.after'" || bad "dry run"
if cmp -s "$tmp/dry.before" "$tmp/dry.after" && grep -q 'shop/ads' "$tmp/dry.plan" &&
   grep -q '10.244.3.11' "$tmp/dry.plan" && ! grep -q 'kube-dns\|shop/cart' "$tmp/dry.plan"; then ok; else
	bad "dry run plan"; cat "$tmp/dry.plan"; fi

# 12. client-ip affinity.  The dynamic maps are the packet path's: an apply
# neither diffs nor reads their entries, so remembered clients survive an
# apply that sends nothing, through netlink and nft.  An apply that removes
# an endpoint from a service forgets the clients of that service
# remembered on it, and no other (10.244.1.6 serves default/sticky-default
# too), whether the runtime's model was read back (a new process) or is
# the ruleset it applied last (one runtime, rt-driver sequence); an apply
# that removes none keeps them all.  A map whose timeout drifted is
# re-created.
aff=$tmp/aff.svc
sed 's/endpoint 10.244.2.5;/&\n    endpoint 10.244.1.6;/' "$g/affinity.svc" > "$aff"
sed '/endpoint 10.244.1.6 weight 2;/d' "$aff" > "$tmp/aff-b.svc"
# the golden may change: make sure the edits still took
if grep -q '^    endpoint 10.244.1.6;$' "$aff" && ! grep -q '10.244.1.6 weight' "$tmp/aff-b.svc"; then ok; else
	bad "variants of affinity.svc not derived"; fi
cat "$aff" - > "$tmp/aff-c.svc" <<'X'
service default/plain {
    vip 10.96.0.12;
    port 80;
    endpoint 10.244.3.5;
}
X
remember="nft add element inet svcc affinity-tcp '{ 192.168.0.1 . 10.96.0.10 . 80 : 10.244.1.5 . 8080,
    192.168.0.2 . 10.96.0.10 . 80 : 10.244.1.6 . 8080, 192.168.0.3 . 10.96.0.11 . 80 timeout 1h : 10.244.2.5 . 8080,
    192.168.0.4 . 10.96.0.11 . 80 : 10.244.1.6 . 8080 }' &&
    nft add element inet svcc affinity-udp '{ 192.168.0.2 . 10.96.0.10 . 53 : 10.244.1.6 . 53 }'"
maps="nft list map inet svcc affinity-tcp > '$tmp/aff.tcp' && nft list map inet svcc affinity-udp > '$tmp/aff.udp'"
# "CLIENT ENDPOINT" of each element of a listed map, sorted, one a line
remembered() {
	grep -q 'elements = {' "$1" || return 0
	tr -d '\n' < "$1" | sed 's/.*elements = {//; s/}.*//' | tr ',' '\n' |
		awk 'NF { print $1, $(NF - 2) }' | sort | tr '\n' ' '
}
all_tcp='192.168.0.1 10.244.1.5 192.168.0.2 10.244.1.6 192.168.0.3 10.244.2.5 192.168.0.4 10.244.1.6 '
kept_tcp='192.168.0.1 10.244.1.5 192.168.0.3 10.244.2.5 192.168.0.4 10.244.1.6 '
# aff_check LABEL TCP UDP: the remembered clients the last run left
aff_check() {
	if [ "$(remembered "$tmp/aff.tcp")" = "$2" ] && [ "$(remembered "$tmp/aff.udp")" = "$3" ]; then ok; else
		bad "$1: tcp [$(remembered "$tmp/aff.tcp")] udp [$(remembered "$tmp/aff.udp")]"; fi
}
for via in "" --via=nft; do
	# the elements added with nft are someone else's commit: the second apply
	# reads everything, changes nothing but the set-fingerprints map's
	# generation (so that it vouches again), and a third sends nothing
	ns "'$drv' apply $via '$aff' && $remember && '$drv' apply $via '$aff' -v 2> '$tmp/aff.v' &&
	    '$drv' apply $via '$aff' -v 2> '$tmp/aff3.v' && $maps" ||
		bad "affinity again $via"
	if grep -q ' 0 added, 0 changed, 0 deleted, [0-4] messages' "$tmp/aff.v" &&
	   grep -q ' 0 messages' "$tmp/aff3.v"; then ok; else
		bad "affinity again $via: $(cat "$tmp/aff.v" "$tmp/aff3.v")"; fi
	aff_check "affinity again $via" "$all_tcp" '192.168.0.2 10.244.1.6 '
	ns "'$drv' apply $via '$aff' && $remember && '$drv' apply $via '$tmp/aff-b.svc' && $maps &&
	    '$drv' apply $via -v '$tmp/aff-b.svc' 2> '$tmp/aff-b.v'" ||
		bad "affinity endpoint removed $via"
	aff_check "affinity endpoint removed, read back $via" "$kept_tcp" ''
	# the cleanup's batch moved the set-fingerprints map's generation along:
	# the next apply still trusts it, and reads back nothing
	if grep -q ' 0 messages, .* 0 sets, 0 chains read' "$tmp/aff-b.v"; then ok; else
		bad "affinity cleanup left the map behind $via: $(cat "$tmp/aff-b.v")"; fi
	ns "'$drv' apply $via '$aff' && $remember && '$drv' apply $via '$tmp/aff-c.svc' && $maps" ||
		bad "affinity, a service added $via"
	aff_check "affinity, a service added, read back $via" "$all_tcp" '192.168.0.2 10.244.1.6 '
done
for via in "" --nft; do
	ns "'$inj' $via sequence '$aff' \"$remember\" '$tmp/aff-b.svc' && $maps" ||
		bad "affinity sequence $via"
	aff_check "affinity endpoint removed, one runtime $via" "$kept_tcp" ''
	ns "'$inj' $via sequence '$aff' \"$remember\" '$tmp/aff-c.svc' 'true' '$aff' -v 2> '$tmp/aff.v' && $maps" ||
		bad "affinity sequence, a service added and gone $via"
	aff_check "affinity, a service added and gone, one runtime $via" "$all_tcp" '192.168.0.2 10.244.1.6 '
done
# the map's timeout drifted: re-created, with the chains using it
sed 's/timeout 10800s;/timeout 3600s;/' "$tmp/affinity.txt" > "$tmp/aff-drift.txt"
ns "nft -f '$tmp/aff-drift.txt' && nft list map inet svcc affinity-tcp > '$tmp/aff-drift.before' &&
    '$drv' apply '$g/affinity.svc' && $list > '$tmp/aff-drift' &&
    '$drv' apply '$g/affinity.svc' -v 2> '$tmp/aff-drift.v'" ||
	bad "affinity timeout drift run"
if grep -q 'timeout 1h$' "$tmp/aff-drift.before" && [ "$(canon "$tmp/aff-drift")" = "$(canon "$tmp/affinity.nl")" ] &&
   grep -q ' 0 messages' "$tmp/aff-drift.v"; then ok; else bad "affinity timeout drift not repaired"; fi

# 13. IPv6 affinity.  nft 1.0.6 aborts on the IPv6 update rule (its 36-byte
# key leaves no aligned register for the data), so there is no nft to
# compare with: the rest of the table lists as nft loads it, and the update
# rules list as the compiler renders them.
cat > "$tmp/aff6.svc" <<'X'
cluster {
    pod-cidr fd00:244::/32;
}
service default/sticky6 {
    vip fd00:96::10;
    port http 80 -> 8080;
    port dns 53/udp;
    port s 9/sctp;
    affinity client-ip timeout 600;
    endpoint fd00:244::5;
    endpoint fd00:244::6 weight 2;
}
X
"$drv" compile "$tmp/aff6.svc" > "$tmp/aff6.txt" || bad "compile aff6"
grep -v 'update @affinity6-' "$tmp/aff6.txt" > "$tmp/aff6-noupdate.txt"
ns "'$drv' apply '$tmp/aff6.svc' && $list > '$tmp/aff6.nl' && '$drv' apply '$tmp/aff6.svc' -v 2> '$tmp/aff6.v'" ||
	bad "aff6 apply"
ns "nft -f '$tmp/aff6-noupdate.txt' && $list > '$tmp/aff6.nft'" || bad "aff6 nft -f"
if [ "$(nomap "$tmp/aff6.nl" | grep -v 'update @affinity6-')" = "$(cat "$tmp/aff6.nft")" ]; then ok; else
	bad "aff6 listing"; diff "$tmp/aff6.nl" "$tmp/aff6.nft" | head; fi
n6=0
for p in 'tcp dport timeout 10m : fd00:244::5 . 8080' 'tcp dport timeout 10m : fd00:244::6 . 8080' \
	 'udp dport timeout 10m : fd00:244::5 . 53' 'sctp dport timeout 10m : fd00:244::6 . 9'; do
	grep -qF "update @affinity6-${p%% *} { ip6 saddr . ip6 daddr . $p }" "$tmp/aff6.nl" && n6=$((n6 + 1))
done
# and per port the refresh of a remembered client (its lookup, then the update)
for p in tcp udp sctp; do
	grep -qF "ip6 saddr . ip6 daddr . $p dport @affinity6-$p update @affinity6-$p { ip6 saddr . ip6 daddr . $p dport timeout 10m : " \
		"$tmp/aff6.nl" && n6=$((n6 + 1))
done
if [ "$n6" = 7 ] && [ "$(grep -c 'update @affinity6-' "$tmp/aff6.nl")" = 9 ]; then ok; else
	bad "aff6 update rules: $(grep 'update @' "$tmp/aff6.nl")"; fi
if grep -q ' 0 messages' "$tmp/aff6.v"; then ok; else bad "aff6 again: $(cat "$tmp/aff6.v")"; fi
sed '/endpoint fd00:244::6/d' "$tmp/aff6.svc" > "$tmp/aff6-b.svc"
ns "'$inj' sequence '$tmp/aff6.svc' \"nft add element inet svcc affinity6-tcp '{ fd00::1 . fd00:96::10 . 80 : fd00:244::5 . 8080,
    fd00::2 . fd00:96::10 . 80 : fd00:244::6 . 8080 }'\" '$tmp/aff6-b.svc' &&
    nft list map inet svcc affinity6-tcp > '$tmp/aff.tcp' && : > '$tmp/aff.udp'" || bad "aff6 sequence"
aff_check "IPv6 affinity endpoint removed" 'fd00::1 fd00:244::5 ' ''

# 14. the set-fingerprints map (runtime/state.h).  After svcc's own batch the
# read-back trusts it: a one-endpoint change reads back only the sets it
# changes (here two: an endpoint map, and the hairpin shard of both the old
# and the new address) and no chain, a no-op nothing; an endpoint removed
# changes its service's chain: only the chains of that chain's group are
# asked for.  After anyone
# else's commit (even to another table) it reads every set: drift in a set's
# elements is repaired.  Its entries equal a fresh apply's (the sets'
# contents), whatever the history.
sets_read() { sed -n 's/.*; \([0-9]*\) sets, [0-9]* chains read.*/\1/p' "$1"; }
chains_read() { sed -n 's/.*; [0-9]* sets, \([0-9]*\) chains read.*/\1/p' "$1"; }
nsets=$(grep -c '^add \(set\|map\) ' "$tmp/cluster.txt")
nchains=$(grep -c '^add chain ' "$tmp/cluster.txt")
sed 's/endpoint 10.244.2.12;/endpoint 10.244.9.12;/' "$A" > "$tmp/fp-b.svc"
sed '/endpoint 10.244.9.12;/d' "$tmp/fp-b.svc" > "$tmp/fp-c.svc"
ns "'$drv' apply '$A' && '$drv' apply '$tmp/fp-b.svc' -v 2> '$tmp/fp1.v' &&
    '$drv' apply '$tmp/fp-b.svc' -v 2> '$tmp/fp2.v' &&
    '$drv' apply '$tmp/fp-c.svc' -v 2> '$tmp/fp5.v' && '$drv' apply '$tmp/fp-b.svc' &&
    nft add table inet someone-else &&
    nft delete element inet svcc hairpin-12 '{ 10.244.1.12 . 10.244.1.12 }' &&
    '$drv' apply '$tmp/fp-b.svc' -v 2> '$tmp/fp3.v' && $list > '$tmp/fp.nl' &&
    '$drv' apply '$tmp/fp-b.svc' -v 2> '$tmp/fp4.v'" || bad "fingerprint run"
ns "'$drv' apply '$tmp/fp-b.svc' && $list > '$tmp/fp-fresh.nl'" || bad "fingerprint fresh"
if [ "$(sets_read "$tmp/fp1.v")" = 2 ] && [ "$(chains_read "$tmp/fp1.v")" = 0 ]; then ok; else
	bad "one endpoint changed: not 2 sets and no chain read: $(cat "$tmp/fp1.v")"; fi
if [ "$(sets_read "$tmp/fp2.v")" = 0 ] && [ "$(chains_read "$tmp/fp2.v")" = 0 ] &&
   grep -q ' 0 messages' "$tmp/fp2.v"; then ok; else bad "no-op after svcc: $(cat "$tmp/fp2.v")"; fi
c5=$(chains_read "$tmp/fp5.v")
if [ "${c5:-0}" -ge 1 ] && [ "$c5" -lt "$nchains" ]; then ok; else
	bad "endpoint removed: some chains read, not all ($nchains): $(cat "$tmp/fp5.v")"; fi
if [ "$(sets_read "$tmp/fp3.v")" -ge "$nsets" ] && [ "$(chains_read "$tmp/fp3.v")" -ge "$nchains" ] &&
   grep -q '1 added' "$tmp/fp3.v"; then ok; else
	bad "after another commit: every set ($nsets) and chain ($nchains) read, the drift repaired: $(cat "$tmp/fp3.v")"; fi
if [ "$(sets_read "$tmp/fp4.v")" = 0 ] && grep -q ' 0 messages' "$tmp/fp4.v"; then ok; else bad "trusted again after the repair: $(cat "$tmp/fp4.v")"; fi
if [ "$(canon "$tmp/fp.nl")" = "$(canon "$tmp/fp-fresh.nl")" ]; then ok; else
	bad "fingerprints after a history differ from a fresh apply's"; diff "$tmp/fp.nl" "$tmp/fp-fresh.nl" | head; fi

# A service gone, then back: its chain's group is asked for by name, and the
# chain gone too, named by the service-ips element read back; not every chain
# is read, and the table equals a fresh apply's.
awk '/^service shop\/cart /{ skip = 1 } !skip { print } skip && /^}/{ skip = 0 }' "$tmp/fp-b.svc" > "$tmp/fp-d.svc"
ns "'$drv' apply '$tmp/fp-b.svc' && '$drv' apply '$tmp/fp-d.svc' -v 2> '$tmp/fp6.v' && $list > '$tmp/fp-d.nl' &&
    '$drv' apply '$tmp/fp-b.svc' -v 2> '$tmp/fp7.v' && $list > '$tmp/fp-b.nl'" || bad "service gone and back"
ns "'$drv' apply '$tmp/fp-d.svc' && $list > '$tmp/fp-d-fresh.nl'" || bad "service gone, fresh"
c6=$(chains_read "$tmp/fp6.v") c7=$(chains_read "$tmp/fp7.v")
if ! grep -q 'shop/cart' "$tmp/fp-d.svc" && [ "${c6:-0}" -ge 1 ] && [ "$c6" -lt "$nchains" ] &&
   [ "${c7:-0}" -ge 1 ] && [ "$c7" -lt "$nchains" ] && ! grep -q 'shop/cart' "$tmp/fp-d.nl" &&
   [ "$(canon "$tmp/fp-d.nl")" = "$(canon "$tmp/fp-d-fresh.nl")" ] &&
   [ "$(canon "$tmp/fp-b.nl")" = "$(canon "$tmp/fp-fresh.nl")" ]; then ok; else
	bad "service gone ($c6 chains read) and back ($c7), of $nchains: $(cat "$tmp/fp6.v" "$tmp/fp7.v")"; fi

# svcc_runtime_update: random updates of a 2,000-service config keep the model
# and the kernel as a whole apply would (tests/runtime/test-update.c)
upd=$(realpath "$build/tests/runtime/test-update")
if ns "'$upd' --services 2000 --steps 200 > '$tmp/upd.out' 2>&1"; then ok; else
	bad "test-update: $(grep -m3 -e FAIL -e rror "$tmp/upd.out")"; fi
if ns "'$upd' --services 500 --steps 60 --seed 2 --nft > '$tmp/upd-nft.out' 2>&1"; then ok; else
	bad "test-update --nft: $(grep -m3 -e FAIL -e rror "$tmp/upd-nft.out")"; fi

# a first apply while another program commits to another table all the time:
# the batch creates the table (or fails if one came meanwhile), so it needs
# no generation check and is not refused for others' commits
awk 'BEGIN { print "cluster { pod-cidr 10.244.0.0/16; }"
	     for (i = 0; i < 4000; i++)
		     printf "service ns/s%d { vip 10.96.%d.%d; port 80 -> 8080; endpoint 10.244.%d.%d; endpoint 10.244.%d.%d; }\n",
			     i, i / 250, i % 250 + 1, i / 250, i % 250 + 1, i / 250 + 100, i % 250 + 1 }' > "$tmp/busy.svc"
if ns "( while :; do nft add table inet noise; nft delete table inet noise; done ) 2> /dev/null &
      p=\$!; sleep 0.2; '$drv' apply '$tmp/busy.svc' 2> '$tmp/busy.err'; rc=\$?; kill \$p; exit \$rc"; then ok; else
	bad "first apply beside another program's commits: $(cat "$tmp/busy.err")"; fi

# stable endpoint slots: a rolling update of a 40-endpoint service changes
# only the replaced endpoint's slots, through update, apply and one-shot
# applies (tests/runtime/test-slots.c)
sl=$(realpath "$build/tests/runtime/test-slots")
if ns "'$sl' > '$tmp/slots.out' 2>&1"; then ok; else
	bad "test-slots: $(grep -m3 FAIL "$tmp/slots.out")"; fi

# svcc_runtime_read: every example and golden config read back, rules
# decoded, is what was applied; a rule of another program's is counted
# (tests/runtime/test-read.c), through netlink and through nft
rd=$(realpath "$build/tests/runtime/test-read")
for via in "" --nft; do
	if ns "'$rd' $via '$ex'/*.svc '$(realpath tests/golden)'/*.svc > '$tmp/read.out' 2>&1"; then ok; else
		bad "test-read $via: $(grep -m3 -A3 FAIL "$tmp/read.out")"; fi
done

echo "runtime: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
