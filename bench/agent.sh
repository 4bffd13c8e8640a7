#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# agent.sh - svcc agent (issue 13): the latency from a config file's rename to the kernel's commit.
#
#   bash bench/agent.sh [--services N] [--endpoints E] [--edits M] [--rss-edits R] [--oneshot K]
#                       [--cases LIST] [--workdir DIR] [--keep]
#
# N services x E endpoints (bench/gen-config; default 10000 x 10), then M single-endpoint edits
# (default 1000), each a rename() of a rewritten file over the watched one, timed by bench/agent-edit
# from the rename to the agent's commit (its NFT_MSG_NEWGEN event), one edit at a time:
#   1. one file per service (a directory of N files);
#   2. the same services in one file (rewritten whole for each edit);
#   3. as 1, while another process commits to another table every 100 ms (`nft add element`);
#   4. `svcc apply` one-shot of the one file for K of the edits (default 20): the process's wall time.
# The agent runs with --min-sync-period 0 (each edit synced at once; the default 100ms would add up
# to that much), in a private network namespace; its RSS is read after its first sync and after the
# edits (case 1 makes R edits, default M: --rss-edits 100000 for the issue's memory target, about
# 10 ms each; with --cases 1, the other cases are skipped).  --cases LIST: the cases to run, e.g.
# 1,3 (default all).  The files are written in a directory made in DIR (default /dev/shm, a tmpfs:
# on ext4 a rename() over a file flushes the new file's data first, which took 1 ms on average and up
# to 140 ms on the VM measured, with no agent running: the writer's filesystem, not the agent; each
# case's rename() times are printed below the table).  Prints a Markdown table on stdout; progress
# on stderr.  Needs root.
# Run time: about 5 s at --services 500 --edits 50 (on 2 busy cores); at the default size, the
# big file's edits dominate (each rewrites and re-parses 3.7 MB): about 5 minutes; --cases 1
# --rss-edits 100000 about an hour.
set -eu
N=10000 E=10 M=1000 R= K=20 KEEP=0 CASES=1,2,3,4 DIR=/dev/shm
while (($#)); do
	case $1 in
	--services) N=$2; shift ;;
	--endpoints) E=$2; shift ;;
	--edits) M=$2; shift ;;
	--rss-edits) R=$2; shift ;;
	--oneshot) K=$2; shift ;;
	--cases) CASES=$2; shift ;;
	--workdir) DIR=$2; shift ;;
	--keep) KEEP=1 ;;
	*) echo "usage: bash bench/agent.sh [--services N] [--endpoints E] [--edits M] [--rss-edits R]" \
		"[--oneshot K] [--cases LIST] [--workdir DIR] [--keep]" >&2
	   exit 2 ;;
	esac
	shift
done
R=${R:-$M}
run() { [[ ,$CASES, == *,$1,* ]]; }	# run CASE: is it one of --cases
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(dirname "$HERE")
SVCC=${SVCC:-$ROOT/build/svcc}
[[ -x $SVCC ]] || { echo "agent.sh: $SVCC missing (make, or SVCC=...)" >&2; exit 1; }
make -s -C "$HERE" gen-config rusage agent-edit >&2

[[ -d $DIR && -w $DIR ]] || DIR=/tmp
W=$(mktemp -d "$DIR/svcc-bench-agent.XXXXXX")
NS=svcc-bench-agent-$$
AGENT= FOREIGN=
cleanup() {
	[[ -n $FOREIGN ]] && kill "$FOREIGN" 2>/dev/null && wait "$FOREIGN" 2>/dev/null
	[[ -n $AGENT ]] && kill "$AGENT" 2>/dev/null && wait "$AGENT" 2>/dev/null
	ip netns del "$NS" 2>/dev/null
	if ((KEEP)); then echo "agent.sh: kept $W" >&2; else rm -rf "$W"; fi
}
trap cleanup EXIT
ip netns add "$NS"
ip -n "$NS" link set lo up
in_ns() { ip netns exec "$NS" "$@"; }

# ---- the configs: one file, and one file per service (the cluster block a file of its own) --------
echo "agent.sh: $N services x $E endpoints, $M edits ($R in case 1)" >&2
"$HERE/gen-config" "$N" "$E" > "$W/all.svc"
mkdir "$W/dir" "$W/big"
awk -v d="$W/dir" 'BEGIN { RS = "" } { f = sprintf("%s/%s.svc", d, NR == 1 ? "cluster" : sprintf("svc-%06d", NR - 1)); print > f; close(f) }' "$W/all.svc"
cp "$W/all.svc" "$W/big/all.svc"

# edit K's endpoint: an address no service has, so that every edit is a change
addr() { echo "10.$((245 + $1 / 62500)).$(($1 / 250 % 250)).$(($1 % 250 + 1))"; }
# the last endpoint of the service file $1 (or of service named $3 in a big file) becomes $2
edit_file() { awk -v a="$2" '{ l[NR] = $0 } /^ *endpoint / { last = NR }
	END { for (i = 1; i <= NR; i++) print (i == last ? "    endpoint " a ";" : l[i]) }' "$1"; }
edit_big() { awk -v a="$2" -v s="service $3 {" '$0 == s { in_s = 1 } in_s && /^ *endpoint / { last = NR }
	in_s && /^}/ { in_s = 0 } { l[NR] = $0 } END { for (i = 1; i <= NR; i++) print (i == last ? "    endpoint " a ";" : l[i]) }' "$1"; }

# start LABEL PATH: the agent on PATH, until its first sync; its pid in AGENT (ip netns exec
# execs it: not through in_ns, whose subshell would be $!)
start() {
	: >"$W/$1.log"
	ip netns exec "$NS" "$SVCC" agent --min-sync-period 0 --healthz-address "" --metrics-address "" --cleanup "$2" \
		>"$W/$1.log" 2>&1 &
	AGENT=$!
	for ((i = 0; i < 1200; i++)); do
		grep -q 'sync 1: first' "$W/$1.log" && return 0
		kill -0 "$AGENT" 2>/dev/null || break
		sleep 0.1
	done
	echo "agent.sh: the agent did not start:" >&2
	tail -5 "$W/$1.log" >&2
	exit 1
}
stop() { kill -TERM "$AGENT"; wait "$AGENT" || true; AGENT=; }
rss_kb() { awk '/^VmRSS:/ { print $2 }' "/proc/$AGENT/status"; }

# edits LABEL MODE COUNT OFFSET: COUNT edits of random services (the same ones in every mode:
# RANDOM seeded), edit k's address addr(k + OFFSET), each timed into W/LABEL.lat (microseconds to
# the commit, then those of the rename() call)
edits() {
	local k s f name lat
	RANDOM=1
	: >"$W/$1.lat"
	for ((k = 1; k <= $3; k++)); do
		s=$((RANDOM * 32768 + RANDOM))
		s=$((s % N + 1))
		f=$(printf '%s/dir/svc-%06d.svc' "$W" "$s")
		if [[ $2 == big ]]; then
			name=$(sed -n '1s/^service \(.*\) {$/\1/p' "$f")
			edit_big "$W/big/all.svc" "$(addr $((k + $4)))" "$name" > "$W/big/.edit.tmp"
			f=$W/big/all.svc
		else
			edit_file "$f" "$(addr $((k + $4)))" > "$W/dir/.edit.tmp"
		fi
		lat=$(in_ns "$HERE/agent-edit" "$(dirname "$f")/.edit.tmp" "$f") || true
		echo "$lat" >> "$W/$1.lat"
	done
}

# row LABEL FILE [RATE-LABEL]: p50 p99 max (ms) and edits/s (1 / mean: one at a time) of FILE's
# microseconds; timeouts counted apart
row() {
	sort -n "$2" | awk -v label="$1" '
		$1 == "timeout" { lost++; next } { v[n++] = $1; sum += $1 }
		END {
			if (!n) { printf "| %s | 0 | - | - | - | - |\n", label; exit }
			p50 = v[int((n - 1) * 0.50)]; p99 = v[int((n - 1) * 0.99)]
			printf "| %s | %d%s | %.2f | %.2f | %.2f | %.0f |\n", label, n, lost ? " (" lost " lost)" : "",
				p50 / 1e3, p99 / 1e3, v[n - 1] / 1e3, 1e6 / (sum / n)
		}'
}

# ---- 1. one file per service ---------------------------------------------------------------------
if run 1; then
echo "agent.sh: 1/4 one file per service" >&2
start dir "$W/dir"
rss1=$(rss_kb)
edits dir file "$R" 0
rss2=$(rss_kb)
stop
fi

# ---- 2. one file --------------------------------------------------------------------------------------
if run 2; then
echo "agent.sh: 2/4 one file" >&2
start big "$W/big/all.svc"
edits big big "$M" "$R"
stop
fi

# ---- 3. one file per service, another table committed to every 100 ms ----------------------------------
if run 3; then
echo "agent.sh: 3/4 one file per service, foreign commits" >&2
in_ns nft 'add table inet foreign; add set inet foreign s { type ipv4_addr; }'
ip netns exec "$NS" bash -c 'for ((i = 0; ; i++)); do nft add element inet foreign s "{ 10.9.$((i / 250 % 250)).$((i % 250 + 1)) }"; sleep 0.1; done' &
FOREIGN=$!
start foreign "$W/dir"
edits foreign file "$M" $((R + M))
stop
kill "$FOREIGN"; wait "$FOREIGN" 2>/dev/null || true; FOREIGN=
commits=$(($(in_ns nft list set inet foreign s | grep -o '10\.9\.' | wc -l)))
fi

# ---- 4. svcc apply, one-shot, of the one file ------------------------------------------------------------
if run 4; then
echo "agent.sh: 4/4 svcc apply one-shot" >&2
in_ns "$SVCC" apply "$W/big/all.svc"
: >"$W/oneshot.lat"
for ((k = 1; k <= K; k++)); do
	name=$(sed -n '1s/^service \(.*\) {$/\1/p' "$(printf '%s/dir/svc-%06d.svc' "$W" $((k * 7919 % N + 1)))")
	edit_big "$W/big/all.svc" "$(addr $((R + 2 * M + k)))" "$name" > "$W/big/.edit.tmp"
	mv "$W/big/.edit.tmp" "$W/big/all.svc"
	in_ns "$HERE/rusage" -o "$W/oneshot.t" "$SVCC" apply "$W/big/all.svc"
	awk '{ printf "%.0f\n", $1 * 1e6 }' "$W/oneshot.t" >> "$W/oneshot.lat"
done
fi

# ---- the table -------------------------------------------------------------------------------------------
echo "### svcc agent: $N services x $E endpoints, single-endpoint edits (rename to kernel commit)"
echo
echo "| case | edits | p50 ms | p99 ms | max ms | edits/s (one at a time) |"
echo "|---|---:|---:|---:|---:|---:|"
run 1 && row "agent, one file per service" "$W/dir.lat"
run 2 && row "agent, one $(du -h "$W/big/all.svc" | cut -f1) file" "$W/big.lat"
run 3 && row "agent, one file per service, another table committed every 100 ms ($commits commits)" "$W/foreign.lat"
run 4 && row "svcc apply (one-shot, the one file; process wall time)" "$W/oneshot.lat"
echo
# an update the library could not make alone compiles the whole config (the agent's log says so);
# the rename() calls' own times are the filesystem's
for c in dir:1 big:2 foreign:3; do
	run "${c#*:}" || continue
	printf 'Case %s: %s of %s syncs compiled the whole config; ' "${c#*:}" \
		"$(grep -c 'compiled whole' "$W/${c%:*}.log")" "$(grep -c 'sync [0-9]*: .*/' "$W/${c%:*}.log")"
	awk 'NF == 2 { print $2 }' "$W/${c%:*}.lat" | sort -n | awk -v d="$DIR" '{ v[n++] = $1 }
		END { printf "the rename() calls (%s) took p50 %.2f, p99 %.2f, max %.2f ms.\n", d,
			v[int((n - 1) * 0.50)] / 1e3, v[int((n - 1) * 0.99)] / 1e3, v[n - 1] / 1e3 }'
done
if run 1; then
	awk -v a="$rss1" -v b="$rss2" -v m="$R" 'BEGIN {
		printf "Agent RSS (one file per service): %.1f MB after the first sync, %.1f MB after %d updates (%+.1f%%).\n",
			a / 1024, b / 1024, m, (b - a) * 100 / a }'
fi
