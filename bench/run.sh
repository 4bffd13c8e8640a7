#!/bin/sh
# SPDX-License-Identifier: MIT
# svcc benchmark: compile time, kernel load time, and the kube-proxy-shaped baseline, in one run.
#
#   sh bench/run.sh [--slow] [--keep] [--no-build]
#
#   --slow      also load kube-proxy-shaped text at 10k services (takes minutes)
#   --keep      keep the work directory (configs, nft scripts, logs) and print its path
#   --no-build  do not run `make` (use whatever build/svcc is there)
#   env: SVCC=path/to/svcc  REPS=3 (repetitions per measurement; the median is reported)
#        SIZES="1000 10 10000 10 50000 10 50000 5" (services endpoints pairs; must include 10000 10)
# Default run: about 70 s on 2 cores; --slow adds about 150 s.
#
# Prints Markdown tables on stdout; progress goes to stderr.  Every kernel load happens in a fresh,
# empty, private network namespace (`unshare -n`); the machine's own ruleset is never touched.
set -eu

# ---- internal helpers, run as `sh run.sh __NAME ...` (also inside `unshare -n`) --------------------

# __time OUT CMD...: run CMD; write "wall user sys" (seconds) to OUT, CMD's output to OUT.log.
if [ "${1:-}" = __time ]; then
	out=$2; shift 2
	t0=$(date +%s%N)
	rc=0
	/usr/bin/time -f '%U %S' -o "$out.ru" "$@" >"$out.log" 2>&1 || rc=$?
	t1=$(date +%s%N)
	[ "$rc" -eq 0 ] || { echo "failed ($rc): $*" >&2; tail -5 "$out.log" >&2; exit "$rc"; }
	echo "$(( (t1 - t0) / 1000 )) $(tail -1 "$out.ru")" |
		awk '{ printf "%.4f %.2f %.2f\n", $1 / 1e6, $2, $3 }' >"$out"
	exit 0
fi

# __apply_change SVCC DIR: inside one namespace, full `svcc apply` of DIR/a.svc, then of DIR/b.svc
# (one endpoint of one service differs), then b.svc again (nothing to do).  See apply_change_hook.
if [ "${1:-}" = __apply_change ]; then
	svcc=$2 dir=$3 self=$0
	sh "$self" __time "$dir/apply-a" "$svcc" apply -v "$dir/a.svc"
	sh "$self" __time "$dir/apply-b" "$svcc" apply -v "$dir/b.svc"
	sh "$self" __time "$dir/apply-b2" "$svcc" apply -v "$dir/b.svc"
	exit 0
fi

# ---- setup -------------------------------------------------------------------------------------------
SLOW=0 KEEP=0 BUILD=1
for a in "$@"; do
	case $a in
	--slow) SLOW=1 ;;
	--keep) KEEP=1 ;;
	--no-build) BUILD=0 ;;
	*) echo "usage: sh bench/run.sh [--slow] [--keep] [--no-build]" >&2; exit 2 ;;
	esac
done
SELF=$(cd "$(dirname "$0")" && pwd)/$(basename "$0")
BENCH=$(dirname "$SELF")
ROOT=$(dirname "$BENCH")
SVCC=${SVCC:-$ROOT/build/svcc}
REPS=${REPS:-3}
[ -x /usr/bin/time ] || { echo "run.sh: needs /usr/bin/time (Debian package 'time')" >&2; exit 1; }
command -v nft >/dev/null || { echo "run.sh: needs nft" >&2; exit 1; }

if [ "$BUILD" = 1 ]; then
	make -s -C "$ROOT" all >&2 || echo "run.sh: make failed; using the existing $SVCC" >&2
fi
make -s -C "$BENCH" gen-config >&2
GEN=$BENCH/gen-config
[ -x "$SVCC" ] || { echo "run.sh: no $SVCC" >&2; exit 1; }

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
		$WRAP sh "$SELF" __time "$W/$name.1" "$@"
		cat "$W/$name.1" >>"$W/$name.all"
		i=$((i + 1))
	done
	sort -n "$W/$name.all" | awk '{ l[NR] = $0 } END { print l[int((NR + 1) / 2)] }' >"$W/$name"
}
# kload NAME FILE: `nft -f FILE` into a fresh, empty network namespace (timed inside it).
kload() { WRAP=$NETNS; measure "$1" nft -f "$2"; WRAP=""; }
f() { awk -v c="$2" '{ print $c }' "$W/$1"; }			# field c of a measurement
ms() { awk -v c="${2:-1}" '{ printf "%.0f", $c * 1000 }' "$W/$1"; }	# in milliseconds
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

# ---- hooks for `svcc apply` (the runtime, issue 3) -------------------------------------------------------
# have_apply: true when this svcc has a working `apply` command.  It must succeed on a tiny config in
# an empty namespace; until the runtime lands, the apply section is skipped with a note.
have_apply() {
	"$GEN" 2 2 >"$W/probe.svc"
	$NETNS "$SVCC" apply "$W/probe.svc" >"$W/probe.log" 2>&1
}
# apply_full_hook N E: full `svcc apply` of N x E into an empty namespace -> $W/apply-NxE
apply_full_hook() {
	id=${1}x$2
	[ -f "$W/$id.svc" ] || "$GEN" "$1" "$2" >"$W/$id.svc"
	WRAP=$NETNS; measure "apply-$id" "$SVCC" apply -v "$W/$id.svc"; WRAP=""
}
# apply_change_hook N E: apply N x E, then a config where one endpoint of one service differs, then the
# same again (a no-op) -> $W/chg/apply-{a,b,b2} (+ .log with -v output, e.g. netlink message counts)
apply_change_hook() {
	mkdir -p "$W/chg"
	"$GEN" "$1" "$2" >"$W/chg/a.svc"
	# change the first endpoint of the middle service (to an address that service does not have)
	awk -v target=$(( $1 / 2 )) '
		/^service / { s++ }
		s == target + 1 && /^ *endpoint / && !done { sub(/endpoint .*;/, "endpoint 10.244.255.254;"); done = 1 }
		{ print }' "$W/chg/a.svc" >"$W/chg/b.svc"
	[ "$(diff "$W/chg/a.svc" "$W/chg/b.svc" | grep -c '^[<>]')" -eq 2 ] || { log "change not made"; return 1; }
	$NETNS sh "$SELF" __apply_change "$SVCC" "$W/chg"
}
APPLY=0
if have_apply; then
	APPLY=1
	log "svcc apply: full 10k x 10 (x$REPS), one-endpoint change at 10k"
	apply_full_hook 10000 10
	apply_change_hook 10000 10
else
	log "svcc apply not available yet (skipped): $(head -1 "$W/probe.log")"
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
echo "| services x endpoints | compile | nft -f |"
echo "|---|---|---|"
ref=10000x10
# per-service time of row $1 relative to the reference, for measurement kind $2 (compile or load)
rel() { awk -v a="$(f "$2-$1" 1)" -v b="$(f "$2-$ref" 1)" -v n="${1%x*}" 'BEGIN { printf "%.2f", (a / n) / (b / 10000) }'; }
lin=yes klin=yes
for id in $ROWS; do
	echo "| ${id%x*} x ${id#*x} | $(rel "$id" compile) | $(rel "$id" load) |"
	# linear: every row with 10 endpoints and >= 10k services within 1.5x of the reference
	[ "${id#*x}" != 10 ] || [ "${id%x*}" -lt 10000 ] ||
		awk -v r="$(rel "$id" compile)" 'BEGIN { exit !(r <= 1.5) }' || lin=NO
	[ "${id#*x}" != 10 ] || [ "${id%x*}" -lt 10000 ] ||
		awk -v r="$(rel "$id" load)" 'BEGIN { exit !(r <= 1.5) }' || klin=NO
done
tgt=$(awk -v a="$(f compile-$ref 1)" 'BEGIN { print (a < 0.5) ? "yes" : "NO" }')
echo
echo "- compile 10k x 10 under 0.5 s: **$tgt** ($(ms compile-$ref) ms); linear from 10k to the largest size (per-service time within 1.5x of 10k's): **$lin**; \`nft -f\` of its output linear too: **$klin**"
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
if [ "$APPLY" = 1 ]; then
	echo "svcc apply (netlink), 10k x 10:"
	echo
	echo "| operation | wall | user | sys | ratio | -v report |"
	echo "|---|---|---|---|---|---|"
	vlog() { tr '\n' ' ' <"$1" | cut -c1-160; }
	echo "| full apply into empty netns | **$(ms apply-10000x10) ms** | $(f apply-10000x10 2) s | $(f apply-10000x10 3) s \
| nft -f of svcc output / apply = $(div "$(f load-10000x10 1)" "$(f apply-10000x10 1)") | $(vlog "$W/apply-10000x10.1.log") |"
	echo "| full apply (change test, 1st) | $(ms chg/apply-a) ms | $(f chg/apply-a 2) s | $(f chg/apply-a 3) s | | $(vlog "$W/chg/apply-a.log") |"
	echo "| one endpoint of one service changed | **$(ms chg/apply-b) ms** | $(f chg/apply-b 2) s | $(f chg/apply-b 3) s \
| full apply / change = $(div "$(f chg/apply-a 1)" "$(f chg/apply-b 1)") | $(vlog "$W/chg/apply-b.log") |"
	echo "| same config again (no-op) | $(ms chg/apply-b2) ms | $(f chg/apply-b2 2) s | $(f chg/apply-b2 3) s | | $(vlog "$W/chg/apply-b2.log") |"
else
	echo "svcc apply: not available in this build yet (\`$(basename "$SVCC") apply\` failed on a 2-service config); hooks: have_apply, apply_full_hook, apply_change_hook in bench/run.sh."
fi
