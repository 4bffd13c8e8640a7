#!/bin/sh
# SPDX-License-Identifier: MIT
# Scale and memory (issue 14, items 4 and 5): at N services x 10 endpoints, the time and peak
# resident memory of `svcc compile`, of `nft -f` of its output (the baseline), of a full `svcc
# apply` into an empty namespace, then of a one-shot `svcc apply` of one endpoint added, and the
# library path (bench/lib-change: svcc_runtime_update of one endpoint, with the process's peak).
#
#   sh bench/scale.sh [--million] [--no-build]
#     default N: 10000 and 50000 (about 2 min); --million adds 100000 (1M endpoints, about 3 min more)
#
# Prints a Markdown table; every kernel load is in a fresh, private network namespace.
set -eu
BENCH=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$BENCH/.." && pwd)
SIZES=${SIZES:-"10000 50000"}
BUILD=1
for a in "$@"; do
	case $a in
	--million) SIZES="$SIZES 100000" ;;
	--no-build) BUILD=0 ;;
	*) echo "usage: sh bench/scale.sh [--million] [--no-build]" >&2; exit 2 ;;
	esac
done
[ "$BUILD" = 0 ] || make -s -C "$ROOT" >&2
make -s -C "$BENCH" gen-config rusage lib-change >&2
SVCC=${SVCC:-$ROOT/build/svcc}
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
T() { "$BENCH/rusage" -o "$@"; }		# T OUT CMD...: wall user sys maxrss(KiB) to OUT
sec() { awk '{ printf "%.2f", $1 }' "$1"; }
msec() { awk '{ printf "%.0f", $1 * 1000 }' "$1"; }
mb() { awk '{ printf "%.0f", $4 / 1024 }' "$1"; }

echo "| services x endpoints | \`svcc compile\` s (peak MB) | \`nft -f\` of it s (peak MB) | full \`svcc apply\` s (peak MB) | one-shot change ms (peak MB) | \`svcc_runtime_update\` ms | library process peak MB |"
echo "|---|---|---|---|---|---|---|"
for n in $SIZES; do
	echo "scale.sh: $n services x 10" >&2
	"$BENCH/gen-config" "$n" 10 > "$W/a.svc"
	# b: one endpoint more in one service
	awk '!d && /^    endpoint / { print "    endpoint 10.244.254.1;"; d = 1 } { print }' "$W/a.svc" > "$W/b.svc"
	T "$W/compile" "$SVCC" compile "$W/a.svc" > "$W/a.nft"
	unshare -n "$BENCH/rusage" -o "$W/nft" nft -f "$W/a.nft"
	unshare -n sh -c "'$BENCH/rusage' -o '$W/apply' '$SVCC' apply '$W/a.svc' &&
			  '$BENCH/rusage' -o '$W/change' '$SVCC' apply '$W/b.svc'"
	unshare -n "$BENCH/rusage" -o "$W/lib" "$BENCH/lib-change" --iter 5 "$W/a.svc" > "$W/lib.out" 2> "$W/lib.err"
	upd=$(awk '$1 == "update" { printf "%.1f", $2 }' "$W/lib.out")
	echo "| ${n} x 10 | $(sec "$W/compile") ($(mb "$W/compile")) | $(sec "$W/nft") ($(mb "$W/nft")) | $(sec "$W/apply") ($(mb "$W/apply")) | $(msec "$W/change") ($(mb "$W/change")) | ${upd:-n/a} | $(mb "$W/lib") |"
done
