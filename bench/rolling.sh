#!/bin/sh
# SPDX-License-Identifier: MIT
# Rolling update of one big service inside 10k services x 10 endpoints (stable endpoint slots,
# runtime/slots.h): every step replaces one endpoint by a new one, through svcc_runtime_update
# and the way a one-shot `svcc apply` does it (bench/rolling.c).  About 30 s.
#
#   sh bench/rolling.sh [--no-build]       env: STEPS=100 ONE_SHOT=10 SIZES="1000 5000"
#
# Prints a Markdown table; each run is in a fresh, private network namespace (`unshare -n`).
set -eu
BENCH=$(cd "$(dirname "$0")" && pwd)
STEPS=${STEPS:-100} ONE_SHOT=${ONE_SHOT:-10} SIZES=${SIZES:-"1000 5000"}
[ "${1:-}" = --no-build ] || make -s -C "$BENCH/.." build/libsvcc.a >&2
make -s -C "$BENCH" gen-config rolling >&2
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
"$BENCH/gen-config" 10000 10 > "$W/base.svc"
echo "| endpoints | path | objects added/deleted per step | netlink messages per step | ms per step (median) | max |"
echo "|---|---|---|---|---|---|"
for e in $SIZES; do
	unshare -n "$BENCH/rolling" --endpoints "$e" --steps "$STEPS" --one-shot "$ONE_SHOT" "$W/base.svc" |
	awk -v e="$e" '{ path = $1 == "update" ? "svcc_runtime_update" : "one-shot apply (compile + apply)"
		printf "| %s | %s | %s | %s | %s | %s |\n", e, path, $5, $7, $9, $11 }'
done
