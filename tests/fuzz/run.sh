#!/bin/sh
# make check-fuzz: every crash input found so far (tests/fuzz/regress/TARGET/)
# replayed through its harness, then each target fuzzed SECONDS on its seeds.
# Usage: tests/fuzz/run.sh BUILD_DIR SECONDS TARGET...  Ends "fuzz: N passed, M failed".
set -u
build=$1 secs=$2
shift 2
pass=0 fail=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

for t in "$@"; do
	bin=$build/fuzz/fuzz-$t
	if [ ! -x "$bin" ]; then
		fail=$((fail + 1)); echo "FAIL: fuzz-$t: no $bin (is clang installed?)"; continue
	fi
	dict=tests/fuzz/svc.dict
	[ "$t" = import ] && dict=tests/fuzz/k8s.dict
	# regressions: the harness run once over each file (no fuzzing)
	for f in tests/fuzz/regress/"$t"/*; do
		[ -f "$f" ] || continue
		if "$bin" "$f" > "$tmp/out" 2>&1; then pass=$((pass + 1)); else
			fail=$((fail + 1)); echo "FAIL: fuzz-$t regression $f"; tail -30 "$tmp/out"; fi
	done
	# smoke: a short run from the seeds; what it finds is kept in $tmp
	sh tests/fuzz/seed.sh "$t" "$tmp/seed-$t" && mkdir -p "$tmp/corpus-$t" || exit 1
	if "$bin" -max_total_time="$secs" -print_final_stats=1 -dict="$dict" \
		-artifact_prefix="$tmp/crash-$t-" "$tmp/corpus-$t" "$tmp/seed-$t" > "$tmp/out" 2>&1; then
		pass=$((pass + 1))
		echo "fuzz-$t: $(sed -n 's/^stat::number_of_executed_units: *//p' "$tmp/out") execs in ${secs} s," \
		     "$(grep -o 'cov: [0-9]*' "$tmp/out" | tail -n 1)"
	else
		fail=$((fail + 1)); echo "FAIL: fuzz-$t found a crash (input kept as $build/fuzz/crash-$t-*):"
		mkdir -p "$build/fuzz" && cp "$tmp"/crash-"$t"-* "$build/fuzz/" 2> /dev/null
		grep -A30 '^==[0-9]*==ERROR\|invariant failed\|runtime error' "$tmp/out" | head -40
	fi
done
echo "fuzz: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
