#!/usr/bin/env bash
# process.sh - process faults and concurrency (issue 9, item 5), in a
# private network namespace of its own (`unshare -n`; it goes with the test).
#
# 1. SIGKILL of `svcc apply` at many points of its run (`timeout -s KILL`,
#    delays from 0 to past the end, spread over the run as measured here):
#    a 10k-service full apply into an empty table and over a different 10k
#    config, and incremental applies at 10k (one endpoint changed and back;
#    a service added and removed; one endpoint changed through --via=nft).
#    After each kill the table is exactly the old config or exactly the new
#    one (`svcc verify`: exit 0 is identical; "old" is no table at all for
#    the first apply), and the next `svcc apply` of the new config converges
#    (verify exits 0 after it) in under 20 s.
# 2. Four `svcc apply` of different configs started at once on one table:
#    small and 10k configs, rounds from an empty table and over the last
#    winner; and four one-endpoint changes of one 10k config, each in
#    another service (a lost update, one applied on top of another's table,
#    would be a mix), through netlink and through --via=nft.  Each exits 0,
#    or 3 with one line saying "the ruleset changed while svcc was applying;
#    nothing was changed" (its one retry on a generation change lost again;
#    or "kept changing while svcc was reading it": three read-backs in a row
#    overtaken); none hangs; the kernel then holds exactly one of the four
#    (verify of exactly one exits 0, and its apply exited 0; small configs:
#    the canonical `nft list table` is also that config's own, made once).
# 3. Foreign tables (inet filter with rules and a hook, ip nat with a rule
#    that matches nothing) are byte-identical after every kill point and
#    every round.
#
#   bash tests/kernel/process.sh BUILD_DIR [-v]       (root; 1.5-2.5 min)
set -u
BUILD=${1:-build}
PARTS=${PARTS:-kill concurrent}	# PARTS=kill or PARTS=concurrent: one part only
VERBOSE=0
[[ ${2:-} == -v ]] && VERBOSE=1

if [[ $(id -u) != 0 ]]; then echo "$(basename "$0"): must run as root (skipped)"; exit 77; fi
# everything below runs in a private network namespace, gone when the test ends
if [[ -z ${SVCC_PROCESS_NETNS:-} ]]; then
	SVCC_PROCESS_NETNS=1 exec unshare -n bash "$0" "$@"
	echo "$(basename "$0"): unshare -n failed"; exit 1
fi
if [[ $(readlink /proc/self/ns/net) == "$(readlink /proc/1/ns/net)" ]]; then
	echo "$(basename "$0"): not in a private network namespace: refusing to run"; exit 1
fi
ip link set lo up

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
SVCC=$(realpath "$BUILD/svcc")
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT

PASS=0 FAIL=0
ok()     { PASS=$((PASS + 1)); echo "ok   - $*"; }
not_ok() { FAIL=$((FAIL + 1)); echo "FAIL - $*"; }
check()  { local d=$1; shift; if "$@"; then ok "$d"; else not_ok "$d"; fi; }
show()   { ((VERBOSE)) && printf '%s\n' "$@" | sed 's/^/    | /' >&2; return 0; }
finish() { echo "$PASS passed, $FAIL failed"; ((FAIL == 0)); exit $?; }
now_ms() { echo $(($(date +%s%N) / 1000000)); }
secs()   { printf '%d.%03d' $(($1 / 1000)) $(($1 % 1000)); }

for tool in nft timeout cc md5sum; do
	command -v $tool >/dev/null || { not_ok "$tool is not installed"; finish; }
done
[[ -x $SVCC ]] || { not_ok "no $SVCC"; finish; }
cc -O2 -o "$T/gen-config" "$ROOT/bench/gen-config.c" || { not_ok "cannot build bench/gen-config"; finish; }

# ---- configs -------------------------------------------------------------------
gen() { "$T/gen-config" "$@"; }
gen 10000 10 1 > "$T/A.svc"		# the 10k configs: A, and B quite different
gen 10000 10 2 > "$T/B.svc"
# A2: one service more
{ cat "$T/A.svc"; printf 'service test/added {\n    vip 10.111.222.33;\n    port 80/tcp -> 8080;\n    endpoint 10.244.250.1;\n    endpoint 10.244.250.2;\n}\n'; } > "$T/A2.svc"
# A1, A3, A4, A5: one endpoint replaced each, in four different services
chg() { awk -v n="$1" -v ep="$2" '/^service / { k++ }
	k == n && /^    endpoint / && !done { print "    endpoint " ep ";"; done = 1; next } { print }' "$T/A.svc"; }
chg 5000 10.244.251.1 > "$T/A1.svc"
chg 2000 10.244.251.2 > "$T/A3.svc"
chg 7000 10.244.251.3 > "$T/A4.svc"
chg 9000 10.244.251.4 > "$T/A5.svc"
for c in A1 A3 A4 A5; do
	[[ $(diff "$T/A.svc" "$T/$c.svc" | grep -c '^[<>]') == 2 ]] || { not_ok "$c is not one endpoint off A"; finish; }
done
for s in 3 4 5 6; do gen 10000 10 $s > "$T/big$s.svc"; done	# the concurrent 10k configs
for s in 1 2 3 4; do gen 40 3 $((s + 10)) > "$T/small$s.svc"; done

# ---- the kernel's state ---------------------------------------------------------
# foreign tables: nothing svcc does may touch them
nft -f - <<'EOF'
table inet filter {
	chain input { type filter hook input priority 0; policy accept; tcp dport 2222 counter accept; }
	chain forward { type filter hook forward priority 0; policy accept; ip saddr 192.0.2.0/24 drop; }
}
table ip nat {
	chain postrouting { type nat hook postrouting priority 100; policy accept; oifname "nosuch0" masquerade; }
}
EOF
foreign() { nft list table inet filter; nft list table ip nat; }
FOREIGN=$(foreign)
foreign_bad=0		# comparisons that differed, counted per part
foreign_n=0
foreign_check() { foreign_n=$((foreign_n + 1)); [[ $(foreign) == "$FOREIGN" ]] || foreign_bad=$((foreign_bad + 1)); }
foreign_report() {
	check "foreign tables byte-identical after each of the $foreign_n steps of $1" eval '((foreign_bad == 0))'
	foreign_bad=0 foreign_n=0
}

has_table() { nft list tables | grep -qx 'table inet svcc'; }
drop_table() { nft delete table inet svcc 2>/dev/null; return 0; }
# verify CFG: 0 when the table is exactly CFG's (a hang counts as a difference)
verify() { timeout -s KILL 60 "$SVCC" verify "$1" >/dev/null 2>&1; }
# state OLD NEW [new]: "old", "new", or "mix" (OLD "-": no table); with
# "new", NEW is looked for first (a verify at 10k takes ~0.5 s)
state() {
	if [[ $1 == - ]]; then
		# (cheaper than `nft list tables`, which reads a 10k table: ~1 s)
		local out
		out=$(timeout -s KILL 60 "$SVCC" verify "$2" 2>/dev/null)
		case $?:$out in
		0:*) echo new ;;
		"1:table inet svcc does not exist") echo old ;;
		*) echo mix ;;
		esac
	elif [[ ${3:-} == new ]] && verify "$2"; then echo new
	elif verify "$1"; then echo old
	elif [[ ${3:-} != new ]] && verify "$2"; then echo new
	elif has_table; then echo mix
	else echo "mix (no table)"
	fi
}
# the table as nft lists it, canonical: each line with its block's header,
# rules numbered in order, elements one per line, everything sorted; the
# generation in the set-fingerprints map masked
MASK_GENID='s/0x00000000 : 0x[0-9a-f]\{8\} \. 0x00000000/0x00000000 : GENID . 0x00000000/'
# (n restarts after each block: the lines after the last block must not carry
# its count, as which block is last depends on the kernel's order)
canon_hash() {
	nft list table inet svcc 2>/dev/null | sed "$MASK_GENID" | awk '
		/^\t(chain|set|map) / { b = $0; n = 0; next }
		$0 == "\t}" || $0 == "" { b = "-"; n = 0; next }
		/elements = \{/ { e = 1; sub(/.*elements = \{ /, "") }
		e { l = $0; sub(/^[ \t]+/, "", l); c = sub(/ ?\}$/, "", l)
		    k = split(l, a, /, ?/)
		    for (i = 1; i <= k; i++) if (a[i] != "") print b "|E|" a[i]
		    if (c) e = 0; next }
		{ print b "|" n++ "|" $0 }' | LC_ALL=C sort | md5sum | cut -c1-32
}

# apply_ok CFG: apply, exit 0 within 60 s, then verify exits 0; sets
# APPLY_OUT, and MS: the apply's wall time
apply_ok() {
	local t0 rc
	t0=$(now_ms)
	APPLY_OUT=$(timeout -s KILL 60 "$SVCC" apply $VIA -v "$1" 2>&1)
	rc=$? MS=$(($(now_ms) - t0))
	show "$APPLY_OUT"
	((rc == 0)) && verify "$1"
}

# ---- 1. SIGKILL at many points ----------------------------------------------------
N_OLD=0 N_NEW=0 N_KILLED=0 N_DONE=0 N_POINTS=0 VIA=""
# kill_point LABEL OLD NEW DELAY_MS: kill `svcc apply NEW` (the table holding
# OLD) DELAY_MS after it starts; old or new, never a mix; apply NEW converges
kill_point() {
	local label=$1 old=$2 new=$3 d=$4 t0 rc ms st how
	t0=$(now_ms)
	# (a subshell: its shell, not ours, says "Killed")
	(timeout -s KILL "$(secs "$d")" "$SVCC" apply $VIA "$new" >"$T/kill.out" 2>&1; exit $?) 2>/dev/null
	rc=$? ms=$(($(now_ms) - t0))
	N_POINTS=$((N_POINTS + 1))
	case $rc in
	137) how="killed after ${ms} ms"; N_KILLED=$((N_KILLED + 1)) ;;
	0) how="finished (${ms} ms)"; N_DONE=$((N_DONE + 1)) ;;
	*) how="exit $rc: $(head -c 300 "$T/kill.out")" ;;
	esac
	st=$(state "$old" "$new" "$( ((rc == 0)) && echo new)")
	case $st in old) N_OLD=$((N_OLD + 1)) ;; new) N_NEW=$((N_NEW + 1)) ;; esac
	check "$label: kill at $d ms, $how: the table is the $st one" \
		eval '[[ $st == old || $st == new ]] && ((rc == 137 || rc == 0))'
	# converged: verify exits 0 after it, or it sent nothing to a table
	# verified as NEW just now; in under 20 s (with --via=nft: the lock
	# svcc processes take turns on went with the killed one)
	t0=$(now_ms)
	APPLY_OUT=$(timeout -s KILL 60 "$SVCC" apply $VIA -v "$new" 2>&1)
	rc=$? ms=$(($(now_ms) - t0))
	show "$APPLY_OUT"
	if ((rc == 0)) && ! [[ $st == new && $APPLY_OUT == *", 0 messages,"* ]]; then
		verify "$new"; rc=$?
	fi
	check "$label (kill at $d ms): the next apply converges in $ms ms [${APPLY_OUT//$'\n'/ }]" \
		eval '((rc == 0 && ms < 20000))'
	foreign_check
}
# kill_series LABEL FIRST SECOND FULL_MS DELAYS...: kill points alternating
# between applying SECOND over FIRST and FIRST over SECOND (the table holds
# FIRST to begin with); a delay with a % is that share of FULL_MS
kill_series() {
	local label=$1 a=$2 b=$3 full=$4 d old=$2 new=$3 o0=$N_OLD n0=$N_NEW
	shift 4
	for d in "$@"; do
		[[ $d == *% ]] && d=$((full * ${d%\%} / 100))
		kill_point "$label" "$old" "$new" "$d"
		if [[ $old == - ]]; then drop_table; else local x=$old; old=$new new=$x; fi
	done
	echo "# $label: $# kill points, $((N_OLD - o0)) left the old table, $((N_NEW - n0)) the new one (${SECONDS}s)"
	[[ $a == - ]] || [[ $old == "$a" ]] || apply_ok "$a"	# leave FIRST
}

if [[ " $PARTS " == *" kill "* ]]; then
	check "first full apply of 10k services into an empty table" apply_ok "$T/A.svc"
	T_FULL=$MS
	check "full apply of a different 10k config over it" apply_ok "$T/B.svc"
	T_AB=$MS
	echo "# full apply into an empty table: $T_FULL ms; over a different 10k config: $T_AB ms"
	foreign_check

	# over a different 10k config: B -> A, A -> B, ...
	kill_series "10k over another 10k" "$T/B.svc" "$T/A.svc" "$T_AB" \
		1 30% 60% 85% 95% 100% 105% 130%
	# into an empty table (the table deleted after each point)
	drop_table
	kill_series "10k into an empty table" - "$T/A.svc" "$T_FULL" \
		1 30% 60% 85% 93% 97% 100% 103% 130%
	apply_ok "$T/A.svc"
	foreign_report "the full applies"

	check "one endpoint changed (incremental)" apply_ok "$T/A1.svc"
	T_INC=$MS
	check "changed back" apply_ok "$T/A.svc"
	check "one service added (incremental)" apply_ok "$T/A2.svc"
	T_ADD=$MS
	check "removed again" apply_ok "$T/A.svc"
	echo "# one endpoint changed: $T_INC ms; a service added: $T_ADD ms"
	kill_series "one endpoint changed at 10k" "$T/A.svc" "$T/A1.svc" "$T_INC" \
		1 40% 70% 85% 92% 100% 108% 150%
	kill_series "a service added/removed at 10k" "$T/A.svc" "$T/A2.svc" "$T_ADD" \
		1 40% 70% 85% 92% 100% 108% 150%
	# the same through nft text (libnftables) instead of netlink
	VIA=--via=nft
	check "one endpoint changed, through nft" apply_ok "$T/A1.svc"
	T_NFT=$MS
	check "changed back, through nft" apply_ok "$T/A.svc"
	kill_series "one endpoint changed at 10k, --via=nft" "$T/A.svc" "$T/A1.svc" "$T_NFT" \
		1 50% 85% 100% 130%
	VIA=""
	foreign_report "the incremental applies"
	echo "# SIGKILL: $N_POINTS points, $N_KILLED killed, $N_DONE finished first; $N_OLD old, $N_NEW new"
fi

# ---- 2. four applies at once --------------------------------------------------------
RC_SEEN="" VIA=""
# exit 3 is allowed with these words only: another apply won the race
CHANGED_MSG="the ruleset (changed while svcc was applying|kept changing while svcc was reading it); nothing was changed"
# round LABEL CFG...: start one apply of each at once; each exits 0 or 3 with
# the message above, within 60 s; the kernel holds exactly one of them, one
# that exited 0 (and, given hashes REF[cfg], lists as that config does)
round() {
	local label=$1 i n=0 won="" rc bad="" codes=""
	shift
	local -a pids=() cfgs=("$@")
	for i in "${!cfgs[@]}"; do
		timeout -s KILL 60 "$SVCC" apply $VIA "${cfgs[i]}" >"$T/c$i.out" 2>&1 &
		pids[i]=$!
	done
	for i in "${!cfgs[@]}"; do
		wait "${pids[i]}"; rc=$?
		codes+="$rc "
		RC_SEEN+="$rc "
		show "apply $(basename "${cfgs[i]}"): exit $rc $(cat "$T/c$i.out")"
		case $rc in
		0) [[ -s $T/c$i.out ]] && bad+="[$(basename "${cfgs[i]}") exit 0 said: $(head -c 200 "$T/c$i.out")] " ;;
		3) grep -qE "^error: [a-z-]+: $CHANGED_MSG\$" "$T/c$i.out" && [[ $(wc -l <"$T/c$i.out") == 1 ]] ||
			bad+="[$(basename "${cfgs[i]}") exit 3: $(head -c 300 "$T/c$i.out")] " ;;
		*) bad+="[$(basename "${cfgs[i]}") exit $rc: $(head -c 300 "$T/c$i.out")] " ;;
		esac
		eval "RC_$i=$rc"
	done
	check "$label: each apply exits 0, or 3 saying the ruleset changed [exit codes: $codes] $bad" \
		eval '[[ -z $bad ]]'
	for i in "${!cfgs[@]}"; do
		if verify "${cfgs[i]}"; then n=$((n + 1)); won=$i; fi
	done
	local wrc=-1
	[[ -n $won ]] && eval "wrc=\$RC_$won"
	check "$label: the kernel holds exactly one of the configs [$n match${won:+: $(basename "${cfgs[won]}"), whose apply exited $wrc}]" \
		eval '((n == 1 && wrc == 0))'
	if [[ -n $won && -n ${REF[${cfgs[won]}]:-} ]]; then
		local h; h=$(canon_hash)
		check "$label: nft lists exactly $(basename "${cfgs[won]}")'s table" eval '[[ $h == "${REF[${cfgs[won]}]}" ]]'
	fi
	foreign_check
}

if [[ " $PARTS " == *" concurrent "* ]]; then
	declare -A REF=()
	drop_table
	for s in 1 2 3 4; do
		apply_ok "$T/small$s.svc" || not_ok "small$s.svc does not apply"
		REF[$T/small$s.svc]=$(canon_hash)
	done
	drop_table
	S=("$T/small1.svc" "$T/small2.svc" "$T/small3.svc" "$T/small4.svc")
	round "small, into an empty table" "${S[@]}"
	for r in 2 3 4 5 6; do round "small, round $r" "${S[@]}"; done
	drop_table
	B=("$T/big3.svc" "$T/big4.svc" "$T/big5.svc" "$T/big6.svc")
	round "10k, into an empty table" "${B[@]}"
	round "10k, round 2" "${B[@]}"
	# four one-endpoint changes of A, each in another service, at once: a lost
	# update (one change applied on top of another's table) is a mix of two
	L=("$T/A1.svc" "$T/A3.svc" "$T/A4.svc" "$T/A5.svc")
	for VIA in "" --via=nft; do
		for r in 1 2; do
			apply_ok "$T/A.svc" || not_ok "A does not apply"
			round "10k, four endpoint changes at once${VIA:+ ($VIA)}, round $r" "${L[@]}"
		done
	done
	VIA=""
	foreign_report "the concurrent applies"
	echo "# (${SECONDS}s)"
	echo "# concurrent applies: exit codes seen: $(tr ' ' '\n' <<<"$RC_SEEN" | sort | uniq -c | awk '$2 != "" { printf "exit %s: %s  ", $2, $1 }')"
fi

check "foreign tables byte-identical at the end" eval '[[ "$(foreign)" == "$FOREIGN" ]]'
finish
