#!/bin/sh
# readback.sh - what reading svcc's table back costs when nothing vouches for
# it (another program committed since svcc's last batch), beside the case
# where the set-fingerprints map vouches for it.  One network namespace, one
# config of N x E (default 10k x 10), medians of REPS runs:
#
#   - one endpoint changed, after svcc's own batch (the map vouches);
#   - one endpoint changed, after another program's commit (a table of its
#     own added and deleted: everything is read, rules included);
#   - the same config again after another program's commit (read whole,
#     nothing to change but the map's generation);
#   - `svcc verify` (always reads everything, rules included).
#
#   sh bench/readback.sh [SVCC [BASELINE_SVCC]]     (root; N, E, REPS from the environment)
#
# With BASELINE_SVCC (an older build), its rows are measured in the same run,
# for the ratio against it.  Prints a Markdown table.
set -eu
HERE=$(cd "$(dirname "$0")" && pwd)
SVCC=$(realpath "${1:-$HERE/../build/svcc}")
BASE=${2:+$(realpath "$2")}
N=${N:-10000} E=${E:-10} REPS=${REPS:-7}
make -s -C "$HERE" gen-config rusage >&2

if [ "${__IN_NS:-}" != 1 ]; then
	W=$(mktemp -d "${TMPDIR:-/tmp}/svcc-readback.XXXXXX")
	trap 'rm -rf "$W"' EXIT
	"$HERE/gen-config" "$N" "$E" > "$W/a.svc"
	# the first endpoint of the middle service changed
	awk -v t=$((N / 2)) '/^service / { s++ } s == t + 1 && /^ *endpoint / && !d { sub(/endpoint .*;/, "endpoint 10.244.255.254;"); d = 1 } { print }' \
		"$W/a.svc" > "$W/b.svc"
	__IN_NS=1 W=$W unshare -n sh "$0" "$SVCC" ${BASE:+"$BASE"}
	exit
fi

# run NAME SVCC ARGS...: time one run into $W/NAME.all, its -v line into $W/NAME.log
run() {
	name=$1; shift
	"$HERE/rusage" -o "$W/t" "$@" > /dev/null 2> "$W/v" || [ "$2" = verify ]
	cat "$W/t" >> "$W/$name.all"
	grep '^apply:\|^verify:' "$W/v" | tail -1 > "$W/$name.log" || true
}
foreign() { nft add table inet bench-other && nft delete table inet bench-other; }
median() { sort -n "$W/$1.all" | awk '{ l[NR] = $1 } END { printf "%.0f", l[int((NR + 1) / 2)] * 1000 }'; }

measure() {	# TAG SVCC
	tag=$1 s=$2
	nft delete table inet svcc 2> /dev/null || true
	"$s" apply "$W/a.svc"
	i=0
	while [ $i -lt "$REPS" ]; do
		run "$tag-own" "$s" apply -v "$W/b.svc"			# after its own batch
		run "$tag-own" "$s" apply -v "$W/a.svc"
		foreign; run "$tag-foreign" "$s" apply -v "$W/b.svc"	# after someone else's
		foreign; run "$tag-foreign" "$s" apply -v "$W/a.svc"
		foreign; run "$tag-noop" "$s" apply -v "$W/a.svc"
		[ "$tag" = base ] || run "$tag-verify" "$s" verify "$W/a.svc"
		i=$((i + 1))
	done
}
measure new "$SVCC"
[ -n "${BASE:-}" ] && measure base "$BASE"

echo "| $N x $E, median of $REPS (x2 for changes) | this build | -v | ${BASE:+before rules were read | -v |}"
echo "|---|---|---|${BASE:+---|---|}"
for k in own foreign noop verify; do
	case $k in
	own) label="one endpoint changed, after svcc's own batch" ;;
	foreign) label="one endpoint changed, after another program's commit" ;;
	noop) label="same config again, after another program's commit" ;;
	verify) label="svcc verify (everything, rules included)" ;;
	esac
	row="| $label | **$(median new-$k) ms** | $(cat "$W/new-$k.log") |"
	if [ -n "${BASE:-}" ]; then
		if [ -f "$W/base-$k.all" ]; then row="$row $(median base-$k) ms | $(cat "$W/base-$k.log") |"
		else row="$row — | |"; fi
	fi
	echo "$row"
done
