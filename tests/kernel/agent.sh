#!/usr/bin/env bash
# agent.sh - svcc agent in the node namespace of the topology (topology.sh),
# on a directory of .svc files edited as a cluster's config would be: real
# packets through what it applies, its HTTP answers with curl.  Needs root.
#
#   bash tests/kernel/agent.sh BUILD_DIR [-v]
#
# One line per check, then "N passed, M failed"; exit 1 if anything failed,
# 77 if it cannot run here.
set -u
BUILD=${1:-build}
VERBOSE=0
[[ ${2:-} == -v ]] && VERBOSE=1

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=lib.sh
. "$HERE/lib.sh"
command -v curl >/dev/null || { echo "agent.sh: curl missing"; exit 1; }

D=$TOPO_TMP/conf LOG=$TOPO_TMP/agent.log NODE=$TOPO_NODE_OUT4
mkdir -p "$D"
# put NAME TEXT: write-and-rename, as editors and config managers replace a file
put() { printf '%s\n' "$2" > "$D/.$1.tmp" && mv "$D/.$1.tmp" "$D/$1"; }
web() {	# the endpoints of default/web, one file of its own
	local e s=""
	for e in "$@"; do s+=" endpoint $e;"; done
	put web.svc "service default/web { vip 10.96.0.10; port http 80/tcp -> 8080;$s }"
}
ext() {	# default/ext: external local, its health-check NodePort 30093
	put ext.svc "service default/ext { vip 10.96.0.40; port 80 -> 8080; nodeport 30094;
    traffic-policy external local; health-check-nodeport 30093; $1 }"
}
put cluster.svc "cluster { pod-cidr 10.244.0.0/16; node-ip $NODE; }"
put other.svc "service default/other { vip 10.96.0.20; port 80 -> 8080;
    endpoint ${P4[0]}; endpoint ${P4[1]}; endpoint ${P4[2]}; }"
web "${P4[0]}" "${P4[1]}"
ext "endpoint ${P4[0]} local; endpoint ${P4[1]};"

AGENT_PID=
start() {	# the agent in the node (ip netns exec execs it: $! is its pid), its log to LOG
	ip netns exec "$(topo_ns node)" "$SVCC" agent --min-sync-period 100ms "$@" "$D" >>"$LOG" 2>&1 &
	AGENT_PID=$!
	TOPO_PIDS+=("$AGENT_PID")
}
syncs() { grep -c 'svcc agent: sync [0-9]*:' "$LOG"; }
# wait_for PATTERN N: until LOG has N lines matching PATTERN (5 s at most)
wait_for() {
	local i
	for ((i = 0; i < 100; i++)); do
		(($(grep -c -- "$1" "$LOG") >= $2)) && return 0
		sleep 0.05
	done
	show "$(cat "$LOG")"
	return 1
}
# after PATTERN CMD...: run CMD, then wait for one more log line matching PATTERN
after() {
	local pat=$1 n
	shift
	n=$(grep -c -- "$pat" "$LOG")
	"$@"
	wait_for "$pat" $((n + 1))
}
metric() { in_node curl -s http://127.0.0.1:10249/metrics | awk -v m="$1" '$1 == m { print $2 }'; }
http_code() { in_outside curl -s -o "$TOPO_TMP/body" -w '%{http_code}' --max-time 2 "$1"; }

# ---- start: the files' services, balanced ------------------------------------
: >"$LOG"
start
check "the agent's first sync applies the directory" wait_for 'sync 1: first, applied whole' 1
out=$(in_outside "$PROBE" tcp 10.96.0.20 80 30 --timeout-ms 1000); show "$out"
check "other: 30 connections from outside land 10/10/10 [$(dist "$out")]" expect_even "$out" 10 "${P4[@]}"

# ---- an endpoint added by rewriting a file: applied as an update of web alone ---
after 'sync [0-9]*: default/web:' web "${P4[0]}" "${P4[1]}" "${P4[2]}"
check "a rewritten file is synced as an update of its service alone" \
	grep -q 'sync [0-9]*: default/web: ' "$LOG"
out=$(in_outside "$PROBE" tcp 10.96.0.10 80 30 --timeout-ms 1000); show "$out"
check "web: the added endpoint is reached, 10/10/10 [$(dist "$out")]" expect_even "$out" 10 "${P4[@]}"

# ---- a service added and removed with its file ----------------------------------
after 'sync [0-9]*: default/new:' put new.svc "service default/new { vip 10.96.0.30; port 80 -> 8080; endpoint ${P4[2]}; }"
out=$(in_outside "$PROBE" tcp 10.96.0.30 80 3 --timeout-ms 1000); show "$out"
check "a new file's service is reached [$(dist "$out")]" expect_even "$out" 3 "${P4[2]}"
after 'sync [0-9]*: default/new:' rm "$D/new.svc"
out=$(in_outside "$PROBE" tcp 10.96.0.30 80 2 --timeout-ms 300); show "$out"
check "a removed file's service is gone [$(dist "$out")]" all_lines "$out" "\$1 !~ /^10\\.244\\./"

# ---- a burst of edits: one or two syncs, not one per file ---------------------------
n=$(syncs)
for i in 1 2 3 4 5; do put "burst$i.svc" "service default/b$i { vip 10.96.1.$i; port 80; }"; done
wait_for 'default/b5' 1
sleep 0.3
check "5 files written at once are applied in at most 2 syncs ($(($(syncs) - n)))" \
	eval '(($(syncs) - n <= 2))'
rm -f "$D"/burst*.svc

# ---- a bad edit: diagnostics with the file's line, nothing applied ---------------------
errs=$(metric svcc_config_errors_total)
after 'nothing applied' put web.svc "service default/web { vip 10.96.0.10; port http 80/tcp -> 8080; endpiont ${P4[0]}; }"
check "a bad edit is logged with its location" grep -q "web.svc:1:[0-9]*: error" "$LOG"
out=$(in_outside "$PROBE" tcp 10.96.0.10 80 30 --timeout-ms 1000); show "$out"
check "after a bad edit the last good ruleset stays: 10/10/10 [$(dist "$out")]" expect_even "$out" 10 "${P4[@]}"
check "svcc_config_errors_total counts it ($errs -> $(metric svcc_config_errors_total))" \
	eval '(($(metric svcc_config_errors_total) == errs + 1))'
after 'sync [0-9]*: default/web:' web "${P4[0]}" "${P4[1]}" "${P4[2]}"

# ---- a check error across files, and an edit made while it stands ------------------------------
# dup.svc takes web's vip and port: the files parse, the config does not check
after 'nothing applied' put dup.svc "service default/dup { vip 10.96.0.10; port 80 -> 8080; endpoint ${P4[2]}; }"
check "a service clashing with another file's is a config error" grep -q "dup.svc:1:[0-9]*: error" "$LOG"
after 'nothing applied' web "${P4[0]}" "${P4[1]}"
out=$(in_outside "$PROBE" tcp 10.96.0.10 80 30 --timeout-ms 1000); show "$out"
check "while it stands web keeps the last good ruleset, 10/10/10 [$(dist "$out")]" expect_even "$out" 10 "${P4[@]}"
after 'sync [0-9]*: default/dup' rm "$D/dup.svc"
check "once it goes, the edit made meanwhile is applied with it" grep -q 'sync [0-9]*: default/dup, default/web:' "$LOG"
out=$(in_outside "$PROBE" tcp 10.96.0.10 80 20 --timeout-ms 1000); show "$out"
check "web: the endpoint removed meanwhile is no longer reached, 10/10 [$(dist "$out")]" expect_even "$out" 10 "${P4[0]}" "${P4[1]}"
after 'sync [0-9]*: default/web:' web "${P4[0]}" "${P4[1]}" "${P4[2]}"

# ---- a file renamed: its service moves with it (one sync), nothing is sent ----------------------
after 'sync [0-9]*:' mv "$D/other.svc" "$D/other2.svc"
check "a renamed file sends nothing" eval 'tail -n 1 "$LOG" | grep -q "default/other: 0 added, 0 changed, 0 deleted, 0 messages"'
after 'sync [0-9]*:' mv "$D/other2.svc" "$D/other.svc"

# ---- another table's commit: the owned table is not read back ------------------------------------
in_node nft 'add table inet foreign; add set inet foreign s { type ipv4_addr; }; add element inet foreign s { 10.9.0.1 }'
after 'sync [0-9]*: default/web:' web "${P4[0]}" "${P4[1]}"
show "$(tail -n 1 "$LOG")"
check "after another table's commit an update reads nothing back" \
	eval 'tail -n 1 "$LOG" | grep "sync [0-9]*: default/web:" | grep -vq "read back"'
after 'sync [0-9]*: default/web:' web "${P4[0]}" "${P4[1]}" "${P4[2]}"
in_node nft delete table inet foreign

# ---- cluster settings changed: joined anew, applied whole -------------------------------------
after 'applied whole' put cluster.svc "cluster { pod-cidr 10.244.0.0/16; pod-cidr 10.245.0.0/16; node-ip $NODE; }"
check "a change of the cluster settings is applied whole" grep -q 'cluster settings changed, applied whole' "$LOG"
out=$(in_outside "$PROBE" tcp 10.96.0.20 80 30 --timeout-ms 1000); show "$out"
check "other: still 10/10/10 after it [$(dist "$out")]" expect_even "$out" 10 "${P4[@]}"
after 'applied whole' put cluster.svc "cluster { pod-cidr 10.244.0.0/16; node-ip $NODE; }"

# ---- the owned table: nft from outside the agent cannot change it -------------------------
out=$(in_node nft add chain inet svcc intruder 2>&1); rc=$?; show "$out"
check "nft cannot add a chain to the owned table [$rc]" eval '((rc != 0)) && grep -q "not permitted" <<<"$out"'
out=$(in_node nft delete table inet svcc 2>&1); rc=$?
check "nft cannot delete the owned table [$rc]" eval '((rc != 0))'
out=$(in_node "$SVCC" apply "$D/other.svc" 2>&1); rc=$?; show "$out"
check "svcc apply says an agent owns the table (exit $rc)" eval '((rc == 3)) && grep -q "owned by another process" <<<"$out"'

# ---- HTTP: health, metrics ---------------------------------------------------------------
code=$(in_node curl -s -o "$TOPO_TMP/hz" -w '%{http_code}' http://127.0.0.1:10256/healthz)
check "/healthz 200 with the last sync's time [$code $(cat "$TOPO_TMP/hz")]" \
	eval '[[ $code == 200 ]] && grep -q "\"lastUpdated\": \"20[0-9-]*T" "$TOPO_TMP/hz"'
code=$(in_node curl -s -o /dev/null -w '%{http_code}' http://127.0.0.1:10256/livez)
check "/livez 200 [$code]" eval '[[ $code == 200 ]]'
in_node curl -s http://127.0.0.1:10249/metrics > "$TOPO_TMP/metrics"
show "$(grep -v '^#' "$TOPO_TMP/metrics" | grep -v _bucket)"
# the text format, strictly: TYPE before samples, names and values well formed,
# counters end in _total, buckets cumulative and +Inf equal to _count
promcheck() {
	awk '
	/^# HELP / { next }
	/^# TYPE / { if ($4 !~ /^(counter|gauge|histogram|summary|untyped)$/ || ($4 == "counter" && $3 !~ /_total$/) || seen[$3]++) bad = bad " type:" $3; type[$3] = $4; next }
	/^#/ || /^$/ { bad = bad " line:" NR; next }
	{
		if ($0 !~ /^[a-zA-Z_:][a-zA-Z0-9_:]*(\{[a-zA-Z_][a-zA-Z0-9_]*="[^"]*"\})? ([-+]?[0-9.]+([eE][-+]?[0-9]+)?|\+Inf|-Inf|NaN)$/) { bad = bad " sample:" NR; next }
		name = $1; sub(/\{.*/, "", name); base = name; sub(/_(bucket|sum|count)$/, "", base)
		if (!(name in type) && !(base in type && type[base] == "histogram")) bad = bad " untyped:" name
		if (name ~ /_bucket$/) { if ($2 < last[base]) bad = bad " decreasing:" base; last[base] = $2; if ($1 ~ /le="\+Inf"/) inf[base] = $2 }
		if (name ~ /_count$/ && type[base] == "histogram" && inf[base] != $2) bad = bad " count:" base
	}
	END { if (bad != "") { print bad; exit 1 } }' "$1"
}
out=$(promcheck "$TOPO_TMP/metrics"); rc=$?
check "/metrics is valid Prometheus text format${out:+ [$out]}" eval '((rc == 0))'
# Prometheus' own linter (Debian's prometheus package; CI installs it): any problem it reports fails
if command -v promtool >/dev/null; then
	out=$(promtool check metrics < "$TOPO_TMP/metrics" 2>&1); rc=$?
	check "promtool check metrics: no problem [rc=$rc${out:+ $(tr '\n' ' ' <<<"$out")}]" \
		eval '((rc == 0)) && [[ -z $out ]]'
else
	echo "skip - promtool check metrics (skipped: promtool not installed)"
fi
missing=
for m in svcc_sync_duration_seconds_count svcc_sync_last_timestamp_seconds \
	svcc_network_programming_duration_seconds_count svcc_config_errors_total svcc_sync_errors_total \
	svcc_services svcc_endpoints svcc_netlink_messages_total svcc_conntrack_deleted_total svcc_resyncs_total; do
	grep -q "^$m " "$TOPO_TMP/metrics" || missing+=" $m"
done
check "/metrics has every metric${missing:+ (missing:$missing)}" eval '[[ -z $missing ]]'
check "svcc_services 3, svcc_endpoints 8" \
	eval '[[ $(metric svcc_services) == 3 && $(metric svcc_endpoints) == 8 ]]'

# ---- the health-check NodePort: 200 with a local endpoint, 503 without ------------------------
code=$(http_code "http://$NODE:30093/")
check "health-check NodePort from outside: 200, one local endpoint [$code $(cat "$TOPO_TMP/body")]" \
	eval '[[ $code == 200 ]] && grep -qx "{\"service\":{\"namespace\":\"default\",\"name\":\"ext\"},\"localEndpoints\":1}" "$TOPO_TMP/body"'
after 'sync [0-9]*: default/ext:' ext "endpoint ${P4[0]}; endpoint ${P4[1]};"
code=$(http_code "http://$NODE:30093/")
check "... 503 with 0 once the last local endpoint goes [$code $(cat "$TOPO_TMP/body")]" \
	eval '[[ $code == 503 ]] && grep -q "\"localEndpoints\":0}" "$TOPO_TMP/body"'

# ---- SIGTERM: the table and an established connection outlive the agent ---------------------------
HOLD_OUT="$TOPO_TMP/hold.out" STOP="$TOPO_TMP/hold.stop"
in_outside "$PROBE" hold 10.96.0.20 80 15 50 --timeout-ms 180 --stop-file "$STOP" > "$HOLD_OUT" 2>&1 &
hold_pid=$!
TOPO_PIDS+=("$hold_pid")
oks() { grep -c '^ok ' "$HOLD_OUT"; }
for ((i = 0; i < 100 && $(oks) < 3; i++)); do sleep 0.05; done
before=$(oks)
kill -TERM "$AGENT_PID"; wait "$AGENT_PID"; rc=$?
check "SIGTERM: the agent exits 0 [$rc]" eval '((rc == 0))'
check "... and leaves the table" eval 'in_node nft list table inet svcc >/dev/null'
: >"$LOG"
start
check "the restarted agent's first sync sends nothing to the table" \
	eval 'wait_for "sync 1: first, applied whole: 0 added, 0 changed, 0 deleted" 1'
for ((i = 0; i < 100 && $(oks) < before + 5; i++)); do sleep 0.05; done
touch "$STOP"; wait "$hold_pid"; hold_rc=$?
show "$(cat "$HOLD_OUT")"
check "an established TCP connection through other survived ($before pings before, $(($(oks) - before)) after)" \
	eval '((hold_rc == 0 && $(oks) >= before + 5))'
out=$(in_node nft add chain inet svcc intruder 2>&1); rc=$?
check "the restarted agent owns the table again [$rc]" eval '((rc != 0))'

# ---- SIGKILL: the table kept, orphaned, then adopted -------------------------------------------------
kill -KILL "$AGENT_PID"; wait "$AGENT_PID" 2>/dev/null
out=$(in_outside "$PROBE" tcp 10.96.0.20 80 6 --timeout-ms 1000); show "$out"
check "SIGKILL: the table stays and serves [$(dist "$out")]" expect_even "$out" 2 "${P4[@]}"
check "... no longer owned (nft may change it)" \
	eval 'in_node nft add chain inet svcc probe-chain && in_node nft delete chain inet svcc probe-chain'
: >"$LOG"
start
check "the restarted agent adopts the orphaned table with nothing added" \
	eval 'wait_for "sync 1: first, applied whole: 0 added, 0 changed, 0 deleted" 1'
out=$(in_node nft add chain inet svcc intruder 2>&1); rc=$?
check "... and owns it [$rc]" eval '((rc != 0))'

# ---- SIGHUP reloads; --cleanup removes the table --------------------------------------------------------
after 'SIGHUP' kill -HUP "$AGENT_PID"
check "SIGHUP: a reload, nothing changed" wait_for 'no change' 1
kill -TERM "$AGENT_PID"; wait "$AGENT_PID"
: >"$LOG"
start --cleanup
wait_for 'sync 1:' 1
kill -TERM "$AGENT_PID"; wait "$AGENT_PID"; rc=$?
check "--cleanup: exit 0 and the table is gone [$rc]" eval '((rc == 0)) && ! in_node nft list table inet svcc >/dev/null 2>&1'
show "$(cat "$LOG")"

# ---- --k8s: kubectl's JSON files, followed as they are rewritten ------------------------------------
K=$TOPO_TMP/k8s
mkdir -p "$K"
kput() { printf '%s\n' "$2" > "$K/.$1.tmp" && mv "$K/.$1.tmp" "$K/$1"; }
slices() {	# the EndpointSlice of default/kweb with these endpoints
	local e s=""
	for e in "$@"; do s+="${s:+,}{\"addresses\":[\"$e\"],\"conditions\":{\"ready\":true},\"nodeName\":\"node-a\"}"; done
	kput eps.json "{\"apiVersion\":\"v1\",\"kind\":\"List\",\"items\":[{\"apiVersion\":\"discovery.k8s.io/v1\",
  \"kind\":\"EndpointSlice\",\"addressType\":\"IPv4\",\"metadata\":{\"name\":\"kweb-1\",\"namespace\":\"default\",
  \"labels\":{\"kubernetes.io/service-name\":\"kweb\"}},\"ports\":[{\"name\":\"http\",\"port\":8080,\"protocol\":\"TCP\"}],
  \"endpoints\":[$s]}]}"
}
kput svc.json '{"apiVersion":"v1","kind":"List","items":[
 {"apiVersion":"v1","kind":"Service","metadata":{"name":"kweb","namespace":"default"},
  "spec":{"type":"ClusterIP","clusterIP":"10.96.5.10","clusterIPs":["10.96.5.10"],
   "ports":[{"name":"http","port":80,"protocol":"TCP","targetPort":8080}]}},
 {"apiVersion":"v1","kind":"Service","metadata":{"name":"alias","namespace":"default"},
  "spec":{"type":"ExternalName","externalName":"example.com"}}]}'
slices "${P4[0]}"
printf 'cluster { pod-cidr 10.244.0.0/16; node-ip %s; }\n' "$NODE" > "$K/cluster.svc"
: >"$LOG"
ip netns exec "$(topo_ns node)" "$SVCC" agent --min-sync-period 100ms --cleanup \
	--k8s "$K/svc.json" "$K/eps.json" --node node-a "$K/cluster.svc" >>"$LOG" 2>&1 &
AGENT_PID=$!
TOPO_PIDS+=("$AGENT_PID")
check "--k8s: the first sync applies the import" wait_for 'sync 1: first, applied whole' 1
check "... with the import's warnings logged" grep -q 'default/alias: type ExternalName' "$LOG"
out=$(in_outside "$PROBE" tcp 10.96.5.10 80 4 --timeout-ms 1000); show "$out"
check "--k8s: kweb reaches its one endpoint [$(dist "$out")]" expect_even "$out" 4 "${P4[0]}"
after 'sync [0-9]*: default/kweb:' slices "${P4[0]}" "${P4[1]}"
check "an endpoint added by rewriting the EndpointSlice file updates kweb alone" \
	grep -q 'sync [0-9]*: default/kweb: ' "$LOG"
out=$(in_outside "$PROBE" tcp 10.96.5.10 80 20 --timeout-ms 1000); show "$out"
check "--k8s: the added endpoint is reached, 10/10 [$(dist "$out")]" expect_even "$out" 10 "${P4[0]}" "${P4[1]}"
after 'nothing applied' kput eps.json '{"kind": '
check "a broken JSON file is logged, nothing applied" grep -q 'cannot be imported' "$LOG"
out=$(in_outside "$PROBE" tcp 10.96.5.10 80 20 --timeout-ms 1000); show "$out"
check "... and kweb keeps its endpoints, 10/10 [$(dist "$out")]" expect_even "$out" 10 "${P4[0]}" "${P4[1]}"
kill -TERM "$AGENT_PID"; wait "$AGENT_PID"
show "$(cat "$LOG")"
finish
