#!/bin/sh
# The compiler and unit tests under valgrind: no invalid access, no leak.
set -u
build=${1:-build}
pass=0 fail=0
# exit 99 is valgrind's own: bad input exiting 1 is fine here
vg() {
	valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=all \
		"$@" > /dev/null 2> /tmp/svcc-vg.$$
	if [ $? -ne 99 ]; then
		pass=$((pass + 1))
	else
		fail=$((fail + 1)); echo "FAIL: valgrind $*"; cat /tmp/svcc-vg.$$
	fi
}
for f in examples/*.svc tests/golden/*.svc tests/bad/*.svc; do
	vg "$build/svcc" compile "$f"
done
for t in "$build"/tests/*; do
	[ -f "$t" ] && [ -x "$t" ] && vg "$t"
done
rm -f /tmp/svcc-vg.$$
echo "valgrind: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
