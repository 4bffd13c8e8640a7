# lib.sh - what the real-traffic tests share: results, the topology, probes.
# Source it after setting BUILD and VERBOSE; it builds the topology (three
# pods with echo servers on 8080) and exits 77 when it cannot run here.
# shellcheck shell=bash
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
SVCC=$(realpath "$BUILD/svcc")
# shellcheck source=topology.sh
. "$HERE/topology.sh"

PASS=0 FAIL=0
ok()     { PASS=$((PASS + 1)); echo "ok   - $*"; }
not_ok() { FAIL=$((FAIL + 1)); echo "FAIL - $*"; }
# check DESCRIPTION COMMAND...: pass if the command succeeds
check() { local d=$1; shift; if "$@"; then ok "$d"; else not_ok "$d"; fi; }
show()  { ((VERBOSE)) && printf '%s\n' "$@" | sed 's/^/    | /' >&2; return 0; }
finish() { echo "$PASS passed, $FAIL failed"; ((FAIL == 0)); exit $?; }

if [[ $(id -u) != 0 ]]; then echo "$(basename "$0"): must run as root (skipped)"; exit 77; fi
topo_build_tools || { echo "$(basename "$0"): cannot build tools"; exit 1; }
PROBE="$TOPO_BIN/probe"
topo_trap
topo_up
case $? in
0) ;;
2) echo "$(basename "$0"): br_netfilter unavailable (skipped)"; exit 77 ;;
*) exit 1 ;;
esac
topo_start_echo 8080 || exit 1

P4=("${TOPO_POD4[1]}" "${TOPO_POD4[2]}" "${TOPO_POD4[3]}")
P6=("${TOPO_POD6[1]}" "${TOPO_POD6[2]}" "${TOPO_POD6[3]}")

# ---- helpers over probe output ("<server addr> <peer addr> <proto> <port> <peerport>")
count_from() { awk -v a="$2" '$1 == a { n++ } END { print n + 0 }' <<<"$1"; }
dist() { awk '{ c[$1]++ } END { for (k in c) printf "%s:%d\n", k, c[k] }' <<<"$1" | sort | tr '\n' ' '; }
# all_lines OUTPUT AWK_CONDITION: every line satisfies the condition
all_lines() { awk "!($2) { bad++ } END { exit (NR == 0 || bad) }" <<<"$1"; }
# expect_even OUTPUT N ADDR...: each ADDR answered exactly N times, nothing else
expect_even() {
	local out=$1 n=$2 a total=0
	shift 2
	for a in "$@"; do
		[[ $(count_from "$out" "$a") == "$n" ]] || return 1
		total=$((total + n))
	done
	[[ $(wc -l <<<"$out") == "$total" ]]
}
elapsed_ms() { echo $((($(date +%s%N) - $1) / 1000000)); }

# reject_check FUNC LABEL PROTO ADDR [EXPECTED [PORT [WHY]]]: 3 attempts to
# ADDR:PORT (80), all EXPECTED (refused), in < 1.5 s
reject_check() {
	local fn=$1 label=$2 proto=$3 addr=$4 want=${5:-refused} port=${6:-80}
	local why=${7:-no endpoints} t0 out ms
	t0=$(date +%s%N)
	out=$($fn "$PROBE" "$proto" "$addr" "$port" 3 --timeout-ms 2000)
	ms=$(elapsed_ms "$t0"); show "$out"
	check "$proto $label->$addr:$port ($why) $want at once [$(dist "$out")${ms}ms]" \
		eval 'all_lines "$out" "\$1 == \"$want\"" && ((ms < 1500))'
}
in_pod1() { in_pod 1 "$@"; }
apply() { in_node "$SVCC" apply "$@"; }
# the generation in the set-fingerprints map differs between namespaces
MASK_GENID='s/0x00000000 : 0x[0-9a-f]\{8\} \. 0x00000000/0x00000000 : GENID . 0x00000000/'
list() { in_node nft list table inet svcc | sed "$MASK_GENID"; }
# behaviour: an nft listing (stdin) as what the table does
# shellcheck source=tests/listing.sh
. "$HERE/../listing.sh"
	     /elements = \{/ { e = 1; sub(/.*elements = \{ /, "") }
	     e { l = $0; sub(/^[ \t]+/, "", l); c = sub(/ \}$/, "", l)
		 n = split(l, a, /, ?/)
		 for (i = 1; i <= n; i++) {
			if (a[i] == "" || s == "set-fingerprints") continue
			if (s ~ /^endpoints6?-/ && split(a[i], kv, / : /) == 2)
				a[i] = "slot " int(kv[1] / 65536) " : " kv[2]
			print s ": " a[i]
		 }
		 if (c) e = 0; next }
	     { print }' | sort
}
