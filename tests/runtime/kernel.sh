#!/bin/sh
# Runtime tests against the real kernel, each in a private network namespace.
# Usage: tests/runtime/kernel.sh [BUILD_DIR]   (needs root; ends "N passed, M failed")
#
# - a table loaded through netlink lists byte-identically to `nft -f` of the
#   compiled text, for every example;
# - applying the same config twice sends nothing;
# - A -> B incrementally through netlink and through nft (--via=nft) list
#   the same, and hold the same as B loaded from scratch;
# - `diff A B` applied with `nft -f` on top of A gives the same table;
# - a batch the kernel rejects leaves the listing byte-identical;
# - drift made underneath with nft is repaired by the next apply.
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
list='nft list table inet svcc'

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

# 1. netlink and nft -f load the same table; 2. the second apply sends nothing
for f in "$ex"/*.svc; do
	n=$(basename "$f" .svc)
	ns "'$drv' apply '$f' && $list > '$tmp/$n.nl' && '$drv' apply '$f' -v 2> '$tmp/$n.v' &&
	    nft -f '${f%.svc}.nft' && $list > '$tmp/$n.nft'" || { bad "load $n"; continue; }
	if cmp -s "$tmp/$n.nl" "$tmp/$n.nft"; then ok; else bad "listing $n"; diff "$tmp/$n.nl" "$tmp/$n.nft" | head; fi
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
if [ "$(sort "$tmp/ab.nl")" = "$(sort "$tmp/b.nl")" ]; then ok; else bad "A->B content differs from B"; fi
msgs=$(sed -n 's/.* \([0-9]*\) messages.*/\1/p' "$tmp/ab.v")
if [ "${msgs:-999}" -le 30 ]; then ok; else bad "A->B took ${msgs:-?} messages"; fi

# 4. svcc diff: few commands, only the objects that changed; nft -f applies it on A
"$drv" diff "$A" "$B" > "$tmp/ab.diff" || bad "diff A B"
if grep -q 'shop/cart\|kube-dns' "$tmp/ab.diff"; then bad "diff touches unrelated services"; else ok; fi
if ns "nft -f '$ex/cluster.nft' && nft -f '$tmp/ab.diff' 2> '$tmp/ab.diff.err' && $list > '$tmp/ab.diffed'"; then
	if [ "$(sort "$tmp/ab.diffed")" = "$(sort "$tmp/b.nl")" ]; then ok; else bad "A + diff differs from B"; fi
else
	bad "nft -f of the diff: $(cat "$tmp/ab.diff.err")"
fi
# the same with a change nft can take: an endpoint moves, no rule is added
sed 's/endpoint 10.244.2.12;/endpoint 10.244.2.13;/' "$A" > "$tmp/c.svc"
"$drv" diff "$A" "$tmp/c.svc" > "$tmp/ac.diff" || bad "diff A C"
ns "nft -f '$ex/cluster.nft' && nft -f '$tmp/ac.diff' && $list > '$tmp/ac.diffed'" || bad "nft -f of diff A C"
ns "'$drv' apply '$A' && '$drv' apply --via=nft '$tmp/c.svc' && $list > '$tmp/ac.nft' && '$drv' apply '$tmp/c.svc' -v 2> '$tmp/ac.v'" || bad "A->C via nft"
ns "'$drv' apply '$tmp/c.svc' && $list > '$tmp/c.nl'" || bad "C"
if cmp -s "$tmp/ac.diffed" "$tmp/c.nl"; then ok; else bad "A + diff C differs from C"; diff "$tmp/ac.diffed" "$tmp/c.nl" | head; fi
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

# 10. without CAP_NET_ADMIN: exit 3 and a plain reason
if command -v setpriv > /dev/null; then
	ns "setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all '$drv' apply '$A' 2> '$tmp/perm.err'; echo \$? > '$tmp/perm.rc'"
	if [ "$(cat "$tmp/perm.rc")" = 3 ] && grep -q 'CAP_NET_ADMIN' "$tmp/perm.err"; then ok; else
		bad "no privilege: rc $(cat "$tmp/perm.rc"): $(cat "$tmp/perm.err")"; fi
fi

# 11. dry run: the plan of A->B names only what changes, and sends nothing
ns "'$drv' apply '$A' && $list > '$tmp/dry.before' && '$drv' apply --dry-run '$B' > '$tmp/dry.plan' &&
    $list > '$tmp/dry.after'" || bad "dry run"
if cmp -s "$tmp/dry.before" "$tmp/dry.after" && grep -q 'shop/ads' "$tmp/dry.plan" &&
   grep -q '10.244.3.11' "$tmp/dry.plan" && ! grep -q 'kube-dns\|shop/cart' "$tmp/dry.plan"; then ok; else
	bad "dry run plan"; cat "$tmp/dry.plan"; fi

echo "runtime: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
