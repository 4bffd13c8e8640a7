#!/bin/sh
# SPDX-License-Identifier: MIT
# svcc benchmark, in one run: compile time, kernel load time (`nft -f` of svcc's output), the
# kube-proxy-shaped baseline, and the runtime (issue 3): full `svcc apply`, one endpoint changed at
# 10k services through the one-shot `svcc apply` and through the library (bench/lib-change).
#
#   sh bench/run.sh [--slow] [--keep] [--no-build] [--profile] [--datapath] [--agent]
#                   [--readback] [--rolling] [--scale] [--million]
#
#   --slow      also load kube-proxy-shaped text at 10k services (takes minutes)
#   --datapath  then the datapath benchmark (bench/datapath.sh, bash, root): new connections per
#               second and their latency through svcc's ruleset and kube-proxy's nftables and
#               iptables shapes at 100, 1k, 10k and 50k services; adds about 35 minutes
#   --agent     then the agent benchmark (bench/agent.sh, bash, root) at 10k x 10 and 1,000 edits:
#               rename-to-commit latency of svcc agent, one file per service, one big file, beside
#               foreign commits, and svcc apply one-shot; adds about 10 minutes (estimated)
#   --readback  then reading svcc's table back after another program's commit, against after
#               svcc's own (bench/readback.sh, issue 14 item 2); adds about 1 minute
#   --rolling   then a rolling update of a 1,000- and a 5,000-endpoint service inside 10k services
#               (bench/rolling.sh: stable endpoint slots); adds about 30 s
#   --scale     then compile, load, apply and change at 10k and 50k services x 10, with peak memory,
#               beside `nft -f` (bench/scale.sh); adds about 2 minutes
#   --million   --scale with 100k services x 10 (1M endpoints) too; adds about 4 minutes more
#   --keep      keep the work directory (configs, nft scripts, logs) and print its path
#   --no-build  do not run `make` in the top directory (use whatever build/svcc, build/libsvcc.a are there)
#   --profile   also `perf record` svcc_compile at 10k x 10 (bench/lib-change --compile-only) and print
#               where its time goes (needs perf; adds about 10 s)
#   env: SVCC=path/to/svcc  REPS=3 (repetitions per measurement; the median is reported)
#        SIZES="1000 10 10000 10 50000 10 50000 5" (services endpoints pairs; must include 10000 10)
#        CHG_REPS=5 (one-shot endpoint changes there and back, and no-ops; medians reported)
#        LIB_ITER=20 (endpoint changes through the library; medians reported)
# Default run: about 2 min on 2 cores (the NodePort/affinity variant included); --profile adds about 10 s, --slow about 150 s.
#
# Prints Markdown tables on stdout; progress goes to stderr.  Every kernel load happens in a fresh,
# empty, private network namespace (`unshare -n`); the machine's own ruleset is never touched.
# Times come from bench/rusage (fork/exec/wait4): wall clock, and the user and system CPU time of the
# command and its children; the system time is the kernel's own work.
set -eu

# ---- internal helpers, run as `sh run.sh __NAME ...` (also inside `unshare -n`) --------------------

# __time OUT CMD...: run CMD; write "wall user sys" (seconds) to OUT, CMD's output to OUT.log.
if [ "${1:-}" = __time ]; then
	out=$2; shift 2
	rc=0
	"$(dirname "$0")/rusage" -o "$out" "$@" >"$out.log" 2>&1 || rc=$?
	[ "$rc" -eq 0 ] || { echo "failed ($rc): $*" >&2; tail -5 "$out.log" >&2; exit "$rc"; }
	exit 0
fi

# __apply_change SVCC DIR REPS: inside one namespace, full `svcc apply` of DIR/a.svc; then REPS times:
# DIR/b.svc (one endpoint of one service differs: a change), b.svc again (nothing to do), a.svc (the
# change back); then REPS times DIR/d.svc (that endpoint removed) and a.svc (added back), and
# DIR/e.svc (one service more) and a.svc (it removed).  Each a one-shot process that reads the table
# back first.  See apply_change_hook.
if [ "${1:-}" = __apply_change ]; then
	svcc=$2 dir=$3 reps=$4 self=$0
	sh "$self" __time "$dir/full" "$svcc" apply -v "$dir/a.svc"
	i=1
	while [ "$i" -le "$reps" ]; do
		sh "$self" __time "$dir/chg-$i-b" "$svcc" apply -v "$dir/b.svc"
		sh "$self" __time "$dir/noop-$i" "$svcc" apply -v "$dir/b.svc"
		sh "$self" __time "$dir/chg-$i-a" "$svcc" apply -v "$dir/a.svc"
		i=$((i + 1))
	done
	# there_and_back LABEL X: REPS times X.svc, then a.svc again
	there_and_back() {
		i=1
		while [ "$i" -le "$reps" ]; do
			sh "$self" __time "$dir/$1-$i-$2" "$svcc" apply -v "$dir/$2.svc"
			sh "$self" __time "$dir/$1-$i-a" "$svcc" apply -v "$dir/a.svc"
			i=$((i + 1))
		done
	}
	there_and_back rm d
	there_and_back svc e
	# the kernel must hold exactly a.svc's ruleset now: a dry run plans nothing
	"$svcc" apply -n "$dir/a.svc" >"$dir/final-plan"
	exit 0
fi

# ---- setup -------------------------------------------------------------------------------------------
SLOW=0 KEEP=0 BUILD=1 PROFILE=0 DATAPATH=0 AGENT=0 READBACK=0 ROLLING=0 SCALE=
for a in "$@"; do
	case $a in
	--slow) SLOW=1 ;;
	--keep) KEEP=1 ;;
	--no-build) BUILD=0 ;;
	--profile) PROFILE=1 ;;
	--datapath) DATAPATH=1 ;;
	--agent) AGENT=1 ;;
	--readback) READBACK=1 ;;
	--rolling) ROLLING=1 ;;
	--scale) SCALE=${SCALE:-scale} ;;
	--million) SCALE=million ;;
	*) echo "usage: sh bench/run.sh [--slow] [--keep] [--no-build] [--profile] [--datapath] [--agent]" \
		"[--readback] [--rolling] [--scale] [--million]" >&2; exit 2 ;;
	esac
done
SELF=$(cd "$(dirname "$0")" && pwd)/$(basename "$0")
BENCH=$(dirname "$SELF")
ROOT=$(dirname "$BENCH")
SVCC=${SVCC:-$ROOT/build/svcc}
REPS=${REPS:-3}
CHG_REPS=${CHG_REPS:-5}	# one-shot changes are cheap: more of them, a steadier median
LIB_ITER=${LIB_ITER:-20}
command -v nft >/dev/null || { echo "run.sh: needs nft" >&2; exit 1; }
if [ "$PROFILE" = 1 ] && ! command -v perf >/dev/null; then echo "run.sh: --profile needs perf" >&2; exit 1; fi

if [ "$BUILD" = 1 ]; then
	make -s -C "$ROOT" all >&2 || echo "run.sh: make failed; using the existing $SVCC" >&2
fi
make -s -C "$BENCH" gen-config rusage >&2
GEN=$BENCH/gen-config
[ -x "$SVCC" ] || { echo "run.sh: no $SVCC" >&2; exit 1; }
# the library benchmark links build/libsvcc.a; without it that part is skipped with a note
LIB=1
make -s -C "$BENCH" lib-change >&2 || { LIB=0; echo "run.sh: bench/lib-change does not build; library part skipped" >&2; }

# A private network namespace: plain `unshare -n` as root, else a user namespace mapped to root.
if unshare -n true 2>/dev/null; then NETNS="unshare -n"
elif unshare -rn true 2>/dev/null; then NETNS="unshare -rn"
else echo "run.sh: cannot create a network namespace (unshare -n)" >&2; exit 1
fi

W=$(mktemp -d "${TMPDIR:-/tmp}/svcc-bench.XXXXXX")
if [ "$KEEP" = 1 ]; then trap 'echo "work directory kept: $W" >&2' EXIT
else trap 'rm -rf "$W"' EXIT
fi
trap 'exit 130' INT TERM HUP PIPE	# so that the EXIT trap also runs when interrupted
log() { echo "bench: $*" >&2; }

# measure NAME CMD...: REPS runs of CMD, each timed by __time (prefixed by $WRAP, e.g. a fresh network
# namespace for every run); leaves the median "wall user sys" in $W/NAME and the last output in $W/NAME.1.log.
WRAP=""
measure() {
	name=$1; shift
	i=0
	: >"$W/$name.all"
	while [ "$i" -lt "$REPS" ]; do
		$WRAP sh "$SELF" __time "$W/$name.1" "$@" || return 1
		cat "$W/$name.1" >>"$W/$name.all"
		i=$((i + 1))
	done
	sort -n "$W/$name.all" | awk '{ l[NR] = $0 } END { print l[int((NR + 1) / 2)] }' >"$W/$name"
}
# kload NAME FILE: `nft -f FILE` into a fresh, empty network namespace (timed inside it).
kload() { WRAP=$NETNS; measure "$1" nft -f "$2"; WRAP=""; }
# field c of a measurement, and in milliseconds; "n/a" when it is missing (failed)
f() { if [ -f "$W/$1" ]; then awk -v c="$2" '{ print $c }' "$W/$1"; else echo n/a; fi; }
ms() { if [ -f "$W/$1" ]; then awk -v c="${2:-1}" '{ printf "%.0f", $c * 1000 }' "$W/$1"; else echo n/a; fi; }
div() { awk -v a="$1" -v b="$2" 'BEGIN { printf (b > 0 ? "%.1f" : "n/a"), (b > 0 ? a / b : 0) }'; }

# ---- (a) compile and (b) nft -f of svcc's output -------------------------------------------------------
# "N E" pairs; 50k x 5 is the optional smaller-endpoint point.
SIZES=${SIZES:-"1000 10 10000 10 50000 10 50000 5"}
case " $SIZES " in *" 10000 10 "*) ;; *) echo "run.sh: SIZES must include '10000 10' (the reference)" >&2; exit 2 ;; esac
set -- $SIZES	# word splitting intended: "N E N E ..."
ROWS=""
while [ $# -ge 2 ]; do
	n=$1 e=$2; shift 2
	id=${n}x$e
	log "generating $n services x $e endpoints"
	"$GEN" "$n" "$e" >"$W/$id.svc"
	log "svcc compile $id (x$REPS)"
	measure "compile-$id" sh -c '"$1" compile "$2" >"$3"' sh "$SVCC" "$W/$id.svc" "$W/$id.nft"
	log "nft -f svcc output $id (x$REPS, each into a fresh netns)"
	kload "load-$id" "$W/$id.nft"
	ROWS="$ROWS $id"
done

# ---- (c) the kube-proxy-shaped baseline ----------------------------------------------------------------
KP_SIZES="1000"
[ "$SLOW" = 1 ] && KP_SIZES="1000 10000"
for n in $KP_SIZES; do
	id=${n}x10
	log "nft -f kube-proxy-shaped text $id (once)"
	"$GEN" --kube-proxy "$n" 10 >"$W/kp-$id.nft"
	[ -f "$W/load-$id" ] || { "$GEN" "$n" 10 >"$W/$id.svc"; "$SVCC" compile "$W/$id.svc" >"$W/$id.nft"
		kload "load-$id" "$W/$id.nft"; }
	$NETNS sh "$SELF" __time "$W/kpload-$id" nft -f "$W/kp-$id.nft"
done

# ---- (d) svcc apply: the runtime (issue 3) -------------------------------------------------------------
# have_apply: true when this svcc has a working `apply` command.  It must succeed on a tiny config in
# an empty namespace; otherwise the apply section is skipped with a note.
have_apply() {
	"$GEN" 2 2 >"$W/probe.svc"
	$NETNS "$SVCC" apply "$W/probe.svc" >"$W/probe.log" 2>&1
}
# apply_full_hook N E: full `svcc apply` of N x E, each run into a fresh empty namespace -> $W/apply-NxE
apply_full_hook() {
	id=${1}x$2
	[ -f "$W/$id.svc" ] || "$GEN" "$1" "$2" >"$W/$id.svc"
	WRAP=$NETNS; measure "apply-$id" "$SVCC" apply -v "$W/$id.svc" || { WRAP=""; return 1; }; WRAP=""
}
# median FILE...: the line with the median wall time of these "wall user sys" files
median() { cat "$@" | sort -n | awk '{ l[NR] = $0 } END { print l[int((NR + 1) / 2)] }'; }
# apply_change_hook N E: in one namespace, apply N x E, then REPS times: a config where one endpoint of
# one service differs, the same again (a no-op), the first one again (the change back).  Leaves the
# medians in $W/chg/{change,noop} (+ .log with -v output, e.g. netlink message counts) and the name of
# the changed service in $W/chg/target.
apply_change_hook() {
	C=$W/${3:-chg}
	mkdir -p "$C"
	if [ -n "${4:-}" ]; then
		"$GEN" "$4" "$1" "$2" >"$C/a.svc"	# gen-config flags: --features
	else
		cp "$W/${1}x$2.svc" "$C/a.svc" 2>/dev/null || "$GEN" "$1" "$2" >"$C/a.svc"
	fi
	# change the first endpoint of the middle service (0-based index N/2) to an address it does not have
	awk -v target=$(( $1 / 2 )) -v namef="$C/target" '
		/^service / { s++; if (s == target + 1) print $2 >namef }
		s == target + 1 && /^ *endpoint / && !done { sub(/endpoint .*;/, "endpoint 10.244.255.254;"); done = 1 }
		{ print }' "$C/a.svc" >"$C/b.svc"
	[ "$(diff "$C/a.svc" "$C/b.svc" | grep -c '^[<>]')" -eq 2 ] || { log "change not made"; return 1; }
	# and the same endpoint removed
	awk -v target=$(( $1 / 2 )) '
		/^service / { s++ }
		s == target + 1 && /^ *endpoint / && !done { done = 1; next }
		{ print }' "$C/a.svc" >"$C/d.svc"
	# and one service more
	{ cat "$C/a.svc"; printf 'service bench/added {\n    vip 10.111.222.33;\n    port 80/tcp -> 8080;\n    endpoint 10.244.250.1;\n    endpoint 10.244.250.2;\n}\n'; } >"$C/e.svc"
	$NETNS sh "$SELF" __apply_change "$SVCC" "$C" "$CHG_REPS" || return 1
	median $(ls "$C"/chg-* | grep -v '\.log$') >"$C/change"
	median $(ls "$C"/noop-* | grep -v '\.log$') >"$C/noop"
	median $(ls "$C"/rm-* | grep -v '\.log$') >"$C/remove"
	cp "$C/rm-1-d.log" "$C/remove.log"
	median $(ls "$C"/svc-* | grep -v '\.log$') >"$C/service"
	cp "$C/svc-1-e.log" "$C/service.log"
	cp "$C/chg-1-b.log" "$C/change.log"
	cp "$C/noop-1.log" "$C/noop.log"
	cp "$C/full.log" "$C/first.log"
}
# lib_hook: bench/lib-change on the same 10k x 10 config and service, in a fresh namespace -> $W/lib.out
lib_hook() {
	$NETNS "$BENCH/lib-change" --iter "$LIB_ITER" --service "$(cat "$W/chg/target")" "$W/chg/a.svc" \
		>"$W/lib.out" 2>"$W/lib.err"
}
APPLY=0 LIBOK=0 CHGOK=0 CHG50=0 CHGF=0
if have_apply; then
	APPLY=1
	for id in $ROWS; do
		log "svcc apply $id (x$REPS, each into a fresh netns)"
		# a failure is reported in its row (the last lines of its output), and the run goes on
		apply_full_hook "${id%x*}" "${id#*x}" || { rm -f "$W/apply-$id"; log "svcc apply $id failed"; }
	done
	log "svcc apply: one endpoint changed at 10k x 10 (one-shot, ${CHG_REPS}x2 changes, $CHG_REPS no-ops)"
	if apply_change_hook 10000 10; then CHGOK=1; else log "one-shot change test failed"; fi
	log "svcc apply: one endpoint changed at 50k x 5 (one-shot)"
	if apply_change_hook 50000 5 chg50; then CHG50=1; else log "one-shot change test at 50k failed"; fi
	log "svcc apply: one endpoint changed at 10k x 10 with NodePorts, external IPs, affinity (one-shot)"
	if apply_change_hook 10000 10 chgf --features; then CHGF=1; else log "one-shot change test with features failed"; fi
	if [ "$LIB" = 1 ] && [ -s "$W/chg/target" ]; then
		log "library: one endpoint changed at 10k x 10 (bench/lib-change, $LIB_ITER changes)"
		if lib_hook; then LIBOK=1
		else log "bench/lib-change failed: $(tail -3 "$W/lib.err")"
		fi
	fi
else
	log "svcc apply not available (skipped): $(head -1 "$W/probe.log")"
fi
if [ "$PROFILE" = 1 ] && [ "$LIB" = 1 ]; then
	log "perf record: svcc_compile of 10k x 10, 30 times"
	[ -f "$W/chg/a.svc" ] || "$GEN" 10000 10 >"$W/chg/a.svc"
	perf record -q --call-graph dwarf,32768 -F 999 -o "$W/perf.data" \
		"$BENCH/lib-change" --compile-only 30 "$W/chg/a.svc" >"$W/perf.out" 2>"$W/perf.err" ||
		{ log "perf record failed: $(tail -2 "$W/perf.err")"; PROFILE=0; }
fi

# ---- report ------------------------------------------------------------------------------------------------
cpu=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)
echo "### svcc benchmark — $(date -u +%Y-%m-%d), $(nproc) cores ($cpu), kernel $(uname -r), $(nft --version | cut -d' ' -f1,2), median of $REPS"
echo
echo "| services x endpoints | .svc size | nft lines | svcc compile wall | user | sys | µs / service | nft -f of svcc output (empty netns) | user | sys |"
echo "|---|---|---|---|---|---|---|---|---|---|"
for id in $ROWS; do
	n=${id%x*}
	echo "| $n x ${id#*x} | $(( $(wc -c <"$W/$id.svc") / 1024 )) KiB | $(wc -l <"$W/$id.nft") \
| **$(ms compile-$id) ms** | $(f compile-$id 2) s | $(f compile-$id 3) s \
| $(awk -v w="$(f compile-$id 1)" -v n="$n" 'BEGIN { printf "%.1f", w * 1e6 / n }') \
| **$(ms load-$id) ms** | $(f load-$id 2) s | $(f load-$id 3) s |"
done
echo
# Linearity: time per service at each size against 10k x 10 (1k is dominated by fixed costs).
echo "Scaling, time per service relative to 10k x 10 (1.0 = linear; 50k x 5 has half the endpoints):"
echo
if [ "$APPLY" = 1 ]; then
	echo "| services x endpoints | compile | nft -f | svcc apply |"
	echo "|---|---|---|---|"
else
	echo "| services x endpoints | compile | nft -f |"
	echo "|---|---|---|"
fi
ref=10000x10
# per-service time of row $1 relative to the reference, for measurement kind $2 (compile, load, apply)
rel() { awk -v a="$(f "$2-$1" 1)" -v b="$(f "$2-$ref" 1)" -v n="${1%x*}" \
	'BEGIN { if (a + 0 > 0 && b + 0 > 0) printf "%.2f", (a / n) / (b / 10000); else printf "n/a" }'; }
# linear: every row with 10 endpoints and >= 10k services within 1.5x of the reference
islin() { [ "${1#*x}" != 10 ] || [ "${1%x*}" -lt 10000 ] || awk -v r="$(rel "$1" "$2")" 'BEGIN { exit !(r != "n/a" && r <= 1.5) }'; }
lin=yes klin=yes alin=yes
for id in $ROWS; do
	if [ "$APPLY" = 1 ]; then
		echo "| ${id%x*} x ${id#*x} | $(rel "$id" compile) | $(rel "$id" load) | $(rel "$id" apply) |"
		islin "$id" apply || alin=NO
	else
		echo "| ${id%x*} x ${id#*x} | $(rel "$id" compile) | $(rel "$id" load) |"
	fi
	islin "$id" compile || lin=NO
	islin "$id" load || klin=NO
done
tgt=$(awk -v a="$(f compile-$ref 1)" 'BEGIN { print (a < 0.5) ? "yes" : "NO" }')
echo
printf '%s' "- compile 10k x 10 under 0.5 s: **$tgt** ($(ms compile-$ref) ms); linear from 10k to the largest size (per-service time within 1.5x of 10k's): **$lin**; \`nft -f\` of its output linear too: **$klin**"
[ "$APPLY" = 1 ] && printf '%s' "; \`svcc apply\` linear too: **$alin**"
echo
echo
echo "Baseline: kube-proxy-shaped nft text (per-service chain, anonymous numgen vmap, per-endpoint chains), \`nft -f\` into an empty netns, one run:"
echo
echo "| services x endpoints | kube-proxy shape nft -f | user | sys | svcc output nft -f | ratio (kube-proxy / svcc) |"
echo "|---|---|---|---|---|---|"
for n in $KP_SIZES; do
	id=${n}x10
	echo "| $n x 10 | **$(ms kpload-$id) ms** | $(f kpload-$id 2) s | $(f kpload-$id 3) s | $(ms load-$id) ms \
| **$(div "$(f kpload-$id 1)" "$(f load-$id 1)")x** |"
done
[ "$SLOW" = 1 ] || echo "| 10000 x 10 | (run with --slow; measured here before: >150 s) | | | | |"
echo
if [ "$APPLY" = 0 ]; then
	[ "$DATAPATH" = 0 ] || log "--datapath skipped: it needs svcc apply"
	[ "$AGENT" = 0 ] || log "--agent skipped: it needs svcc apply"
	echo "svcc apply: not available in this build (\`$(basename "$SVCC") apply\` failed on a 2-service config: $(head -1 "$W/probe.log")); hooks: have_apply, apply_full_hook, apply_change_hook in bench/run.sh."
	exit 0
fi

# "apply: A added, C changed, D deleted, M messages, T ms ... (before it: parse and compile P ms,
# read-back R ms alongside; ...)" (svcc apply -v) -> field: msgs, ms, parse or readback
vfield() { sed -n 's/^apply: .* \([0-9]*\) messages, \([0-9.]*\) ms.*parse and compile \([0-9.]*\) ms, read-back \([0-9.]*\) ms.*/\1 \2 \3 \4/p' "$1" |
	tail -1 | awk -v c="$2" '{ print (c == "msgs") ? $1 : (c == "ms") ? $2 : (c == "parse") ? $3 : $4 }'; }
vline() { grep '^apply:' "$1" | tail -1 | sed 's/^apply: //'; }
echo "Full apply: \`svcc apply FILE\` (a one-shot process: parse, compile, read back, netlink batch) into an empty netns, beside \`nft -f\` of \`svcc compile\`'s output of the same config; the system time is the kernel's own work, the floor for both:"
echo
echo "| services x endpoints | svcc apply wall | user | sys | netlink messages | batch (-v) | nft -f wall | user | sys | **nft -f / svcc apply** |"
echo "|---|---|---|---|---|---|---|---|---|---|"
# the error of a failed measurement NAME: the last lines of its output, on one line
ferr() { tail -3 "$W/$1.1.log" 2>/dev/null | tr '\n|' '  ' | cut -c1-300; }
for id in $ROWS; do
	if [ ! -f "$W/apply-$id" ]; then
		echo "| ${id%x*} x ${id#*x} | **failed**: \`$(ferr apply-$id)\` | | | | | $(ms load-$id) ms | $(f load-$id 2) s | $(f load-$id 3) s | |"
		continue
	fi
	echo "| ${id%x*} x ${id#*x} | **$(ms apply-$id) ms** | $(f apply-$id 2) s | $(f apply-$id 3) s \
| $(vfield "$W/apply-$id.1.log" msgs) | $(vfield "$W/apply-$id.1.log" ms | awk '{ printf "%.0f", $1 }') ms \
| $(ms load-$id) ms | $(f load-$id 2) s | $(f load-$id 3) s | **$(div "$(f load-$id 1)" "$(f apply-$id 1)")x** |"
done
echo
full=$(f apply-$ref 1)
echo "- full apply of 10k x 10 under 1 s: **$(awk -v a="$full" 'BEGIN { print (a != "n/a" && a < 1) ? "yes" : "NO" }')** ($(ms apply-$ref) ms); \
user-space share of its CPU time: $(awk -v u="$(f apply-$ref 2)" -v s="$(f apply-$ref 3)" 'BEGIN { if (u + s > 0) printf "%.0f%%", 100 * u / (u + s); else printf "n/a" }') \
(user $(f apply-$ref 2) s, kernel $(f apply-$ref 3) s); \"batch (-v)\" is the runtime's own timing of diff + send + ACKs, without parse, compile and read-back"
echo
# value of key $1 in lib-change's output, column c (2: the median); times rounded to 0.1 ms
lv() { awk -v k="$1" -v c="${2:-2}" '$1 == k { print ($c ~ /\./) ? sprintf("%.1f", $c) : $c }' "$W/lib.out"; }
if [ "$CHGOK" = 1 ]; then
	echo "One endpoint of one service ($(cat "$W/chg/target")) changed at 10k x 10, through the one-shot \`svcc apply\` (reads the table back first); one namespace, medians of $((CHG_REPS * 2)) changes (there and back), $CHG_REPS no-ops, $((CHG_REPS * 2)) removals and additions of that endpoint, and as many of a service:"
	echo
	echo "| operation | wall | user | sys | full apply / this | -v report |"
	echo "|---|---|---|---|---|---|"
	echo "| full apply (first, empty netns) | $(ms chg/full) ms | $(f chg/full 2) s | $(f chg/full 3) s | | $(vline "$W/chg/first.log") |"
	echo "| **one endpoint changed** | **$(ms chg/change) ms** | $(f chg/change 2) s | $(f chg/change 3) s \
| **$(div "$full" "$(f chg/change 1)")x** | $(vline "$W/chg/change.log") |"
	echo "| same config again (no-op) | $(ms chg/noop) ms | $(f chg/noop 2) s | $(f chg/noop 3) s \
| $(div "$full" "$(f chg/noop 1)")x | $(vline "$W/chg/noop.log") |"
	echo "| one endpoint removed, and added back (its chain's round robin changes: rewritten) | $(ms chg/remove) ms | $(f chg/remove 2) s | $(f chg/remove 3) s \
| $(div "$full" "$(f chg/remove 1)")x | $(vline "$W/chg/remove.log") |"
	echo "| one service added, and removed (reference: kube-proxy's partial sync, 141 ms to add one) | $(ms chg/service) ms | $(f chg/service 2) s | $(f chg/service 3) s \
| $(div "$full" "$(f chg/service 1)")x | $(vline "$W/chg/service.log") |"
	echo
	chg=$(f chg/change 1)
	echo "- change under 100 ms: **$(awk -v a="$chg" 'BEGIN { print (a < 0.1) ? "yes" : "NO" }')**; \
at least 10x less than the full apply ($(ms apply-$ref) ms): **$(awk -v a="$full" -v b="$chg" 'BEGIN { print (a >= 10 * b) ? "yes" : "NO" }')**; \
netlink messages: **$(vfield "$W/chg/change.log" msgs)**; kernel left holding exactly the config: \
**$([ -s "$W/chg/final-plan" ] && echo NO || echo yes)** (dry run after the last change plans nothing); reference: kube-proxy's partial sync, 141 ms to add one service at 10k"
	echo "- where the one-shot change's time goes (its own -v report): parse and compile $(vfield "$W/chg/change.log" parse) ms \
(and meanwhile, on a thread of its own, the read-back: $(vfield "$W/chg/change.log" readback) ms, the set list and the set-fingerprints map: the generation matched, so no element dump yet) \
+ apply $(vfield "$W/chg/change.log" ms) ms (the changed sets read, chains asked for by group, diff, batch, ACKs) (+ process start, and exit: closing the netlink socket waits for the kernel to free what the batch replaced)"
	[ "$CHG50" = 1 ] && echo "- at 50k x 5 ($(cat "$W/chg50/target")): full apply $(ms chg50/full) ms, \
**one endpoint changed $(ms chg50/change) ms** ($(vline "$W/chg50/change.log")), no-op $(ms chg50/noop) ms"
	[ "$CHGF" = 1 ] && echo "- with features (\`gen-config --features\`: every 10th service a NodePort, every 20th an external IP, \
every 50th client-ip affinity), 10k x 10: full apply $(ms chgf/full) ms; **one endpoint changed $(ms chgf/change) ms, \
$(div "$(f chgf/full 1)" "$(f chgf/change 1)")x** ($(vline "$W/chgf/change.log")); no-op $(ms chgf/noop) ms; \
an endpoint removed $(ms chgf/remove) ms; a service added $(ms chgf/service) ms"
else
	echo "One endpoint changed at 10k x 10 through the one-shot \`svcc apply\`: **failed**: \`$(tail -3 "$(ls -t "$W"/chg/*.log | head -1)" | tr '\n' ' ' | cut -c1-300)\`"
fi
if [ "$LIBOK" = 1 ]; then
	echo
	echo "The same change through the library (bench/lib-change: applied model kept in memory; \`svcc_service_set_endpoints\`, then either (i) \`svcc_compile\` of the whole config and (ii) \`svcc_runtime_apply\`: diff + netlink batch + ACKs + model update, or \`svcc_runtime_update(rt, cfg, &name, 1)\`: that service alone), $LIB_ITER changes there and back, ms:"
	echo
	echo "| step | median | min | max | |"
	echo "|---|---|---|---|---|"
	echo "| parse 10k x 10 (once) | $(lv parse) | | | |"
	echo "| compile (once) | $(lv compile-full) | | | |"
	echo "| full apply (once, empty netns) | $(lv apply-full) | | | $(lv apply-full 3) added, $(lv apply-full 6) messages |"
	echo "| (i) svcc_compile after the change | **$(lv change-compile)** | $(lv change-compile 3) | $(lv change-compile 4) | check + lower of all 10k services |"
	echo "| (ii) svcc_runtime_apply of it | **$(lv change-apply)** | $(lv change-apply 3) | $(lv change-apply 4) | $(lv change-stats 2) added, $(lv change-stats 3) changed, $(lv change-stats 4) deleted; **$(lv change-messages | awk -v b="$(lv change-messages 3)" '{ print ($1 == b) ? $1 : $1 "-" b }') messages** |"
	echo "| (i) + (ii), per change | **$(lv change-total)** | $(lv change-total 3) | $(lv change-total 4) | |"
	echo "| no-op apply (same ruleset again) | $(lv noop-apply) | $(lv noop-apply 3) | $(lv noop-apply 4) | nothing sent: the diff alone |"
	echo "| resync (read the table back) | $(lv resync) | $(lv resync 3) | $(lv resync 4) | chains, sets, and elements only where the set-fingerprints map does not vouch |"
	echo "| svcc_runtime_apply_config (once) | $(lv apply-config) | | | whole compile + apply + index |"
	echo "| **svcc_runtime_update of the one service** | **$(lv update)** | $(lv update 3) | $(lv update 4) | check + lower + diff of that service, batch, model patched; $(lv update-stats 2) added, $(lv update-stats 3) changed, $(lv update-stats 4) deleted; **$(lv update-messages | awk -v b="$(lv update-messages 3)" '{ print ($1 == b) ? $1 : $1 "-" b }') messages**; $(lv update-whole) applied whole |"
	echo
	under() { awk -v a="$(lv "$1")" 'BEGIN { print (a < 5) ? "yes" : "NO" }'; }
	echo "- library change under 5 ms: compile + apply **$(under change-total)** ($(lv change-total) ms); \
the apply alone **$(under change-apply)** ($(lv change-apply) ms); kernel matches the model after the changes (resync, then empty plan): **$(lv verify)**"
	echo "- library change under 5 ms through svcc_runtime_update: **$(under update)** ($(lv update) ms); \
model equals a whole compile after the updates: **$(lv update-verify-model)**; kernel too (resync, then empty plan): **$(lv update-verify)**"
elif [ "$LIB" = 1 ]; then
	echo
	echo "Library path: bench/lib-change failed: \`$(tail -1 "$W/lib.err")\`"
else
	echo
	echo "Library path: skipped (bench/lib-change does not build; it links build/libsvcc.a)"
fi
if [ "$PROFILE" = 1 ]; then
	echo
	pshare=$(awk '$1 == "parse" { p = $2 } $1 == "compile" { c = $2 } END { printf "%.0f", 100 * p / (p + 30 * c) }' "$W/perf.out")
	echo "Profile of svcc_compile at 10k x 10 (\`perf record --call-graph dwarf\` of 30 compiles after one parse, which is about $pshare% of the time; columns: inclusive %, self %, function; inlined functions included):"
	echo
	echo '```'
	perf report -i "$W/perf.data" --children --stdio -g none --percent-limit 2 2>/dev/null |
		awk '/^ +[0-9.]+%/ { sym = $0; sub(/^.*\] /, "", sym)
			if (sym !~ /^(main|_start|__libc_start|0x)/) printf "%8s %8s  %s\n", $1, $2, sym }' |
		head -40
	echo '```'
fi
if [ "$READBACK" = 1 ]; then
	log "reading back after a foreign commit (bench/readback.sh, about 1 minute)"
	echo
	sh "$BENCH/readback.sh" "$SVCC" || echo "(bench/readback.sh failed; see its messages)"
fi
if [ "$ROLLING" = 1 ]; then
	log "rolling updates (bench/rolling.sh, about 30 s)"
	echo
	sh "$BENCH/rolling.sh" --no-build || echo "(bench/rolling.sh failed; see its messages)"
fi
if [ -n "$SCALE" ]; then
	log "scale and memory (bench/scale.sh: about 2 minutes, with --million about 6)"
	echo
	SVCC=$SVCC sh "$BENCH/scale.sh" --no-build $([ "$SCALE" = million ] && echo --million) ||
		echo "(bench/scale.sh failed; see its messages)"
fi
if [ "$DATAPATH" = 1 ]; then
	log "the datapath benchmark (bench/datapath.sh, about 35 minutes)"
	echo
	SVCC=$SVCC bash "$BENCH/datapath.sh" || echo "(bench/datapath.sh: a run failed or was not sane; see its table)"
fi
if [ "$AGENT" = 1 ]; then
	log "the agent benchmark (bench/agent.sh, about 10 minutes)"
	echo
	SVCC=$SVCC bash "$BENCH/agent.sh" || echo "(bench/agent.sh: a run failed; see its messages)"
fi
