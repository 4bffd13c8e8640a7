#!/bin/sh
# svcc trace over examples/ and tests/golden/ configs: behaviour, not text.
# Each case in tests/trace/cases is a line "= ARGS" (svcc trace's arguments)
# followed by the outcome lines trace must print, exactly and in order (the
# path lines under each are not compared: the goldens review the chains).
# Usage: tests/trace/run.sh BUILD_DIR.  Ends with "N passed, M failed".
set -u
# shellcheck source=tests/lib.sh
. tests/lib.sh

# run_case ARGS: compare the outcomes of trace ARGS with $tmp/want
run_case() {
	# shellcheck disable=SC2086 # ARGS are words
	if ! "$svcc" trace $1 > "$tmp/out" 2> "$tmp/err"; then
		bad "trace $1: exit $?"; cat "$tmp/err"; return
	fi
	grep '^  [^ ]' "$tmp/out" > "$tmp/got"
	if diff -u "$tmp/want" "$tmp/got" > "$tmp/diff"; then ok; else bad "trace $1"; cat "$tmp/diff"; fi
}

args=
: > "$tmp/want"
while IFS= read -r line; do
	case $line in
	'#'* | '') ;;
	'= '*)
		[ -n "$args" ] && run_case "$args"
		args=${line#= }
		: > "$tmp/want" ;;
	*) printf '%s\n' "$line" >> "$tmp/want" ;;
	esac
done < tests/trace/cases
[ -n "$args" ] && run_case "$args"

# the command line: what it refuses, and the JSON view
expect_exit() {
	want=$1; shift
	"$@" > "$tmp/out" 2>&1
	rc=$?
	if [ $rc -eq "$want" ]; then ok; else bad "'$*' exited $rc, want $want"; cat "$tmp/out"; fi
}
m=examples/minimal.svc
expect_exit 2 "$svcc" trace $m --from 10.244.1.9
expect_exit 2 "$svcc" trace $m --to 10.96.0.10:80
expect_exit 2 "$svcc" trace $m --from 10.244.1.9 --to 10.96.0.10
expect_exit 2 "$svcc" trace $m --from 10.244.1.9 --to 10.96.0.10:80/icmp
expect_exit 2 "$svcc" trace $m --from 10.244.1.9 --to 10.96.0.10:0
expect_exit 2 "$svcc" trace $m --from fd00::9 --to 10.96.0.10:80
expect_exit 2 "$svcc" trace $m --from bogus --to 10.96.0.10:80
expect_exit 2 "$svcc" trace $m --from 10.244.1.9 --to 10.96.0.10:80 --iif much-too-long-name
expect_exit 1 "$svcc" trace tests/bad/bad-address.svc --from 10.244.1.9 --to 10.96.0.10:80
# no --from-*: the source address says (a node-ip, a pod-cidr, else outside)
for w in "node 192.168.50.2" "pod 10.244.7.7" "outside 192.0.2.1"; do
	"$svcc" trace tests/golden/nodeport.svc --from "${w#* }" --to 10.96.0.10:80 > "$tmp/out" 2>&1
	if [ "$(head -1 "$tmp/out")" = "from $w to 10.96.0.10:80/tcp:" ]; then ok; else
		bad "trace from ${w#* } taken as from $(head -1 "$tmp/out")"; fi
done
# ... and an option says otherwise
for w in "pod 192.0.2.1" "node 10.244.7.7" "outside 192.168.50.2"; do
	"$svcc" trace tests/golden/nodeport.svc --from "${w#* }" --to 10.96.0.10:80 --from-${w%% *} > "$tmp/out" 2>&1
	if [ "$(head -1 "$tmp/out")" = "from $w to 10.96.0.10:80/tcp:" ]; then ok; else
		bad "trace --from-${w%% *} taken as from $(head -1 "$tmp/out")"; fi
done
# options before the file, the file from standard input
if "$svcc" trace --from-outside --to 10.96.0.10:80 --from 192.0.2.1 - < $m | grep -q '^  10.244.2.7:8080 50%, masqueraded$'
then ok; else bad "trace with options first and FILE -"; fi
"$svcc" trace $m --from 10.244.1.9 --to 10.96.0.10:80 --json > "$tmp/json"
if jq -e '.from == "pod" and .dport == 80 and .proto == "tcp" and
	([.outcomes[] | [.verdict, .addr, .port, .share, .masquerade]] ==
	 [["dnat", "10.244.1.5", 8080, 0.5, false], ["dnat", "10.244.2.7", 8080, 0.5, false]]) and
	.outcomes[0].path[0] == "prerouting: nat-prerouting > services > mark-cluster-ips > svc-default/web/tcp/80"' \
	"$tmp/json" > /dev/null
then ok; else bad "trace --json"; cat "$tmp/json"; fi

echo "trace: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
