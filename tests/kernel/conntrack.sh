#!/usr/bin/env bash
# conntrack.sh - stale UDP conntrack cleanup (runtime/conntrack.c) with real
# traffic, in the namespace topology of topology.sh.  Needs root.
#
#   bash tests/kernel/conntrack.sh BUILD_DIR [-v]
#
# A DNS-like client sends from one fixed source port, so conntrack pins it
# to the endpoint its first packet was DNATed to.  That endpoint is removed
# (svcc apply); the client keeps landing on it until the cleanup
# (tests/kernel/ct-driver flush OLD NEW, in the node namespace) deletes its
# entry, after which it lands on the remaining endpoint.  Entries the
# cleanup must leave alone: a UDP client pinned to the remaining endpoint,
# a UDP flow sent to the removed pod directly (not NATed), TCP connections
# to the removed endpoint.  Everything runs in namespaces made and deleted
# here (conntrack tables are per network namespace).
#
# One line per check, then "conntrack: N passed, M failed"; exit 1 if
# anything failed, 77 if it cannot run here (not root, no br_netfilter).
set -u
BUILD=${1:-build}
VERBOSE=0	# read by lib.sh's show
[[ ${2:-} == -v ]] && VERBOSE=1
export VERBOSE

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
[[ -r $BUILD/libsvcc.a && -x $BUILD/svcc ]] || { echo "conntrack.sh: build $BUILD first"; exit 1; }
BUILD=$(realpath "$BUILD")

# ---- tools: udp-fixed next to probe, ct-driver against this build's library
build_tools() {
	local pkgs="libnftnl libmnl libnftables libnetfilter_conntrack" san=
	local f=(-std=c11 -D_GNU_SOURCE -O2 -g -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes)

	mkdir -p "$HERE/build" "$BUILD/tests/kernel" || return 1
	UDPF=$HERE/build/udp-fixed
	if [[ ! -x $UDPF || $HERE/udp-fixed.c -nt $UDPF ]]; then
		${CC:-cc} "${f[@]}" -o "$UDPF.tmp.$$" "$HERE/udp-fixed.c" &&
			mv -f "$UDPF.tmp.$$" "$UDPF" || { rm -f "$UDPF.tmp.$$"; return 1; }
	fi
	# the Makefile may have built it (with the build's CFLAGS); else build it here
	CTD=$BUILD/tests/kernel/ct-driver
	if [[ ! -x $CTD || $HERE/ct-driver.c -nt $CTD || $ROOT/runtime/conntrack.c -nt $CTD ||
		$BUILD/libsvcc.a -nt $CTD ]]; then
		pkg-config --exists libnetfilter_conntrack ||
			{ echo "conntrack.sh: libnetfilter_conntrack not found (pkg-config)"; return 1; }
		# a sanitizer build's library needs the sanitizers at link time
		nm "$BUILD/libsvcc.a" 2>/dev/null | grep -q __asan_ && san=-fsanitize=address,undefined
		# shellcheck disable=SC2046
		${CC:-cc} "${f[@]}" $san -I"$ROOT/include" -I"$ROOT/compiler" -I"$ROOT/runtime" \
			-o "$CTD.tmp.$$" "$HERE/ct-driver.c" "$ROOT/runtime/conntrack.c" \
			"$BUILD/libsvcc.a" $(pkg-config --cflags --libs $pkgs) &&
			mv -f "$CTD.tmp.$$" "$CTD" || { rm -f "$CTD.tmp.$$"; return 1; }
	fi
}
if [[ $(id -u) != 0 ]]; then echo "conntrack.sh: must run as root (skipped)"; exit 77; fi
build_tools || { echo "conntrack.sh: cannot build tools"; exit 1; }

# shellcheck source=lib.sh
. "$HERE/lib.sh"	# topology up, echo servers on 8080 in every pod
finish() { echo "conntrack: $PASS passed, $FAIL failed"; ((FAIL == 0)); exit $?; }

# ---- helpers ------------------------------------------------------------------
# send VIP PORT SPORT COUNT: the answers, one line per attempt
send() { in_outside "$UDPF" "$1" "$2" "$3" "$4" --timeout-ms 1000; }
# land VIP SPORT: the endpoint one request from SPORT answered from
land() { send "$1" 53 "$2" 1 | awk '{ print $1 }'; }
ctd() { in_node "$CTD" "$@"; }
# load FILE: the compiled ruleset by nft -f, past svcc's runtime (and so
# past any cleanup it does): the way to show what happens without one
load() { "$SVCC" compile "$1" > "$1.nft" && topo_nft_load "$1.nft"; }
# entry LIST PROTO SPORT DST: "ID DNAT REPLY_SRC REPLY_PORT" of the entry from
# the outside client's SPORT to DST, or nothing
entry() {
	awk -v p="$2" -v s="$TOPO_OUTSIDE4" -v s6="$TOPO_OUTSIDE6" -v sp="$3" -v d="$4" \
		'$1 == p && ($4 == s || $4 == s6) && $5 == sp && $6 == d { print $2, $3, $8, $9 }' <<<"$1"
}
# every line of OUT is an answer from ADDR
all_from() { all_lines "$1" "\$1 == \"$2\""; }

# ---- configs: A has pod1 and pod2; B drops the one the client is pinned to
VIP4=10.96.0.53 VIP6=fd00:96::53
A=$TOPO_TMP/a.svc B=$TOPO_TMP/b.svc
config() {	# endpoint addresses...
	local a
	cat <<EOF
cluster {
    pod-cidr 10.244.0.0/16;
    pod-cidr fd00:244::/32;
}
service kube-system/dns {
    vip $VIP4;
    vip $VIP6;
    port dns 53/udp -> 8080;
    port dns-tcp 53/tcp -> 8080;
EOF
	for a in "$@"; do echo "    endpoint $a;"; done
	echo "}"
}
config "${P4[0]}" "${P4[1]}" "${P6[0]}" "${P6[1]}" > "$A"
check "svcc apply A (dns: pod1, pod2) in the node" apply "$A"

# ---- pin clients -------------------------------------------------------------
# X: the DNS client; the pod it lands on (E) is the one B removes.
SX=41001 SX6=41011 SY=41002 SZ=41021
E4=$(land $VIP4 $SX)
case $E4 in
"${P4[0]}") K=0 ;;
"${P4[1]}") K=1 ;;
*) K= ;;
esac
check "udp outside:$SX -> $VIP4:53 lands on pod1 or pod2 [$E4]" test -n "$K"
[[ -n $K ]] || finish
E6=${P6[K]} F4=${P4[1 - K]} F6=${P6[1 - K]}
extra=0	# other DNAT entries to E4/E6 the pinning makes (deleted too)
# Y: pinned to the endpoint that stays (round robin: the next new flow)
for ((SY = 41002; SY < 41010; SY++)); do
	got=$(land $VIP4 $SY)
	[[ $got == "$F4" ]] && break
	[[ $got == "$E4" ]] && extra=$((extra + 1))
done
check "udp outside:$SY -> $VIP4:53 lands on the other pod [$got]" test "$got" = "$F4"
# X6: the same client over IPv6, pinned to E's IPv6 address
for ((SX6 = 41011; SX6 < 41020; SX6++)); do
	got=$(land $VIP6 $SX6)
	[[ $got == "$E6" ]] && break
done
check "udp outside:$SX6 -> [$VIP6]:53 lands on [$E6] [$got]" test "$got" = "$E6"
# Z: straight to E's address, no service, no NAT: same reply source as X
out=$(send "$E4" 8080 $SZ 1); show "$out"
check "udp outside:$SZ -> $E4:8080 directly answers unNATed [$out]" \
	all_lines "$out" "\$1 == \"$E4\" && \$2 == \"$TOPO_OUTSIDE4\""

# TCP: two held connections through the vip (round robin: one per pod)
STOP=$TOPO_TMP/hold.stop
hold_pids=()
for i in 1 2; do
	in_outside "$PROBE" hold $VIP4 53 15 100 --timeout-ms 600 --stop-file "$STOP" \
		> "$TOPO_TMP/hold$i.out" 2>&1 &
	TOPO_PIDS+=($!)
	hold_pids+=($!)
	for ((t = 0; t < 40; t++)); do grep -q '^ok ' "$TOPO_TMP/hold$i.out" && break; sleep 0.05; done
done
tcp_e=$(awk '$1 == "connected" { print $2 }' "$TOPO_TMP/hold1.out" "$TOPO_TMP/hold2.out" | sort | tr '\n' ' ')
check "tcp: two held connections through $VIP4:53, one to each pod [$tcp_e]" \
	eval '[[ $tcp_e == *"$E4 "* && $tcp_e == *"$F4 "* ]]'

before=$(ctd list); show "$before"
read -r _ x_nat x_src _ <<<"$(entry "$before" udp $SX $VIP4)"
read -r y_id y_nat y_src _ <<<"$(entry "$before" udp $SY $VIP4)"
read -r z_id z_nat z_src _ <<<"$(entry "$before" udp $SZ "$E4")"
check "conntrack: X -> $VIP4 is DNATed to $E4 [${x_nat:-?} ${x_src:-?}]" \
	test "${x_nat:-}/${x_src:-}" = "1/$E4"
check "conntrack: Y -> $VIP4 is DNATed to $F4 [${y_nat:-?} ${y_src:-?}]" \
	test "${y_nat:-}/${y_src:-}" = "1/$F4"
check "conntrack: Z -> $E4 is not NATed [${z_nat:-?} ${z_src:-?}]" \
	test "${z_nat:-}/${z_src:-}" = "0/$E4"

# ---- B: the endpoint goes ---------------------------------------------------------
config "$F4" "$F6" > "$B"
check "nft -f (svcc compile B) (dns: only [$F4] / [$F6])" load "$B"
out=$(send $VIP4 53 $SX 3); show "$out"
check "without cleanup: X still lands on the removed $E4 (3/3) [$(dist "$out")]" all_from "$out" "$E4"
out=$(send $VIP6 53 $SX6 3); show "$out"
check "without cleanup: X6 still lands on the removed $E6 (3/3) [$(dist "$out")]" all_from "$out" "$E6"

out=$(ctd stale "$A" "$B"); show "$out"
want=$(printf 'stale %s 8080\nstale %s 8080' "$E4" "$E6")
check "stale A->B: exactly $E4:8080 and [$E6]:8080 [$(tr '\n' ' ' <<<"$out")]" test "$out" = "$want"
out=$(ctd stale "$B" "$A"); show "$out"
check "stale B->A (an endpoint added): nothing [$out]" test -z "$out"
# client-ip affinity DNATs in per-endpoint chains, not through the maps
sed 's/^    port dns 53/    affinity client-ip;\n&/' "$A" > "$TOPO_TMP/a-aff.svc"
sed 's/^    port dns 53/    affinity client-ip;\n&/' "$B" > "$TOPO_TMP/b-aff.svc"
out=$(ctd stale "$TOPO_TMP/a-aff.svc" "$TOPO_TMP/b-aff.svc"); show "$out"
check "stale A->B with affinity: the same two [$(tr '\n' ' ' <<<"$out")]" test "$out" = "$want"
out=$(ctd stale "$A" "$TOPO_TMP/a-aff.svc"); show "$out"
check "stale A->A with affinity (the endpoints move to chains): nothing [$out]" test -z "$out"

hold_e=$(grep -l "^connected $E4 " "$TOPO_TMP/hold1.out" "$TOPO_TMP/hold2.out" | head -1)
oks() { grep -c '^ok ' "${hold_e:-/dev/null}"; }
hold_before=$(oks)
out=$(ctd flush "$A" "$B" 2>&1); rc=$?; show "$out"
n=$(sed -n 's/^deleted //p' <<<"$out")
check "cleanup A->B deletes X's two entries$( ((extra)) && echo " and $extra more to $E4") [rc=$rc deleted=${n:-?}]" \
	test "$rc/${n:-}" = "0/$((2 + extra))"

# right after the cleanup, before any packet could make an entry again
after=$(ctd list); show "$after"
check "after cleanup: no entry from X or X6 is left [$(entry "$after" udp $SX $VIP4)$(entry "$after" udp $SX6 $VIP6)]" \
	eval '[[ -z $(entry "$after" udp $SX $VIP4) && -z $(entry "$after" udp $SX6 $VIP6) ]]'
read -r id nat src _ <<<"$(entry "$after" udp $SY $VIP4)"
check "Y's entry (DNAT to the remaining $F4) survived [${id:-gone} $src]" \
	test "${id:-x}/$src" = "${y_id:-y}/$F4"
read -r id nat src _ <<<"$(entry "$after" udp $SZ "$E4")"
check "Z's unNATed entry from $E4:8080 survived [${id:-gone} $src]" \
	test "${id:-x}/$nat/$src" = "${z_id:-y}/0/$E4"
tcp_left=$(awk -v e="$E4" '$1 == "tcp" && $3 == 1 && $8 == e' <<<"$after" | wc -l)
check "the TCP entry DNATed to $E4 survived ($tcp_left)" test "$tcp_left" -ge 1

out=$(send $VIP4 53 $SX 3); show "$out"
check "after cleanup: X lands on $F4 (3/3) [$(dist "$out")]" all_from "$out" "$F4"
out=$(send $VIP6 53 $SX6 3); show "$out"
check "after cleanup: X6 lands on $F6 (3/3) [$(dist "$out")]" all_from "$out" "$F6"
out=$(send $VIP4 53 $SY 3); show "$out"
check "Y still lands on $F4 [$(dist "$out")]" all_from "$out" "$F4"
out=$(send "$E4" 8080 $SZ 1); show "$out"
check "Z, straight to $E4, still answered [$out]" all_from "$out" "$E4"
read -r _ _ src _ <<<"$(entry "$(ctd list)" udp $SX $VIP4)"
check "X's new entry is DNATed to $F4 [$src]" test "$src" = "$F4"

for ((t = 0; t < 40; t++)); do (($(oks) >= hold_before + 3)) && break; sleep 0.05; done
touch "$STOP"
wait "${hold_pids[0]}"; rc1=$?
wait "${hold_pids[1]}"; rc2=$?
show "$(cat "$TOPO_TMP/hold1.out" "$TOPO_TMP/hold2.out")"
check "both held TCP connections kept working, the one to $E4 for $(($(oks) - hold_before)) pings after the cleanup [rc $rc1 $rc2]" \
	eval '((rc1 == 0 && rc2 == 0 && $(oks) >= hold_before + 3)) && ! grep -q "^fail" "$TOPO_TMP/hold1.out" "$TOPO_TMP/hold2.out"'

out=$(ctd flush "$A" "$B" 2>&1); show "$out"
check "cleanup A->B again: nothing left to delete [$(tail -1 <<<"$out")]" test "$(tail -1 <<<"$out")" = "deleted 0"
out=$(ctd flush "$B" "$B" 2>&1); show "$out"
check "cleanup B->B: nothing stale, nothing deleted [$out]" test "$out" = "deleted 0"
# ---- one family only (the dump asks the kernel for IPv4 only) ---------------------
# A again; W pinned to E4; C drops E's IPv4 address only.
C=$TOPO_TMP/c.svc
config "$F4" "$F6" "$E6" > "$C"
check "svcc apply A again" apply "$A"
for ((SW = 41031; SW < 41040; SW++)); do
	got=$(land $VIP4 $SW)
	[[ $got == "$E4" ]] && break
done
check "udp outside:$SW -> $VIP4:53 lands on $E4 [$got]" test "$got" = "$E4"
check "nft -f (svcc compile C) (dns: [$F4] / [$F6] [$E6])" load "$C"
out=$(ctd flush "$A" "$C" 2>&1); rc=$?; show "$out"
want=$(printf 'stale %s 8080\ndeleted 1' "$E4")
check "cleanup A->C: only $E4:8080 is stale, W's entry deleted [rc=$rc $(tr '\n' ' ' <<<"$out")]" \
	test "$rc/$out" = "0/$want"
out=$(send $VIP4 53 $SW 2); show "$out"
check "after cleanup: W lands on $F4 [$(dist "$out")]" all_from "$out" "$F4"
out=$(send $VIP4 53 $SY 2); show "$out"
check "Y still lands on $F4 [$(dist "$out")]" all_from "$out" "$F4"

# ---- svcc apply does the cleanup itself, once the runtime calls it ----------------
if nm "$BUILD/libsvcc.a" 2>/dev/null | grep -q ' T ct_flush_stale$'; then
	check "svcc apply A" apply "$A"
	for ((SV = 41041; SV < 41050; SV++)); do
		got=$(land $VIP4 $SV)
		[[ $got == "$E4" ]] && break
	done
	check "udp outside:$SV -> $VIP4:53 lands on $E4 [$got]" test "$got" = "$E4"
	out=$(apply -v "$B" 2>&1); rc=$?; show "$out"
	check "svcc apply B [rc=$rc $out]" test $rc = 0
	after=$(ctd list); show "$after"
	check "svcc apply deleted V's entry [$(entry "$after" udp $SV $VIP4)]" \
		test -z "$(entry "$after" udp $SV $VIP4)"
	read -r id _ src _ <<<"$(entry "$after" udp $SY $VIP4)"
	check "svcc apply left Y's entry alone [$id $src]" test "${id:-x}/$src" = "${y_id:-y}/$F4"
	out=$(send $VIP4 53 $SV 2); show "$out"
	check "after svcc apply: V lands on $F4 [$(dist "$out")]" all_from "$out" "$F4"
else
	echo "skip - svcc apply does no conntrack cleanup yet (libsvcc.a has no ct_flush_stale)"
fi

# without CAP_NET_ADMIN the dump is refused: reported, no crash
out=$(in_node setpriv --bounding-set=-net_admin --inh-caps=-net_admin "$CTD" flush "$A" "$B" 2>&1); rc=$?
show "$out"
check "cleanup without CAP_NET_ADMIN fails cleanly [rc=$rc: $(grep '^ct-driver' <<<"$out")]" \
	eval '((rc == 1)) && grep -q "conntrack cleanup: Operation not permitted" <<<"$out"'
finish
