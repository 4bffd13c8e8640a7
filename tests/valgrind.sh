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
vg "$build/svcc" import-k8s examples/k8s/services.json examples/k8s/endpointslices.json --node node-a
for t in "$build"/tests/*; do
	[ -f "$t" ] && [ -x "$t" ] && vg "$t"
done
# the runtime, in a private network namespace: full apply, a change, a no-op,
# a dry run, delete; each under valgrind
if [ "$(id -u)" = 0 ]; then
	unshare -n sh -c '
		for args in "apply examples/cluster.svc" "apply examples/minimal.svc" \
			    "apply examples/minimal.svc" "apply --dry-run examples/cluster.svc" "delete"; do
			valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=all \
				"$1/svcc" $args > /dev/null 2> "$2"
			[ $? -eq 99 ] && { echo "FAIL: valgrind svcc $args"; cat "$2"; }
		done; true' sh "$build" /tmp/svcc-vg.$$ > /tmp/svcc-vgns.$$
	n=$(grep -c '^FAIL' /tmp/svcc-vgns.$$)
	cat /tmp/svcc-vgns.$$
	fail=$((fail + n)) pass=$((pass + 5 - n))
	rm -f /tmp/svcc-vgns.$$
fi
rm -f /tmp/svcc-vg.$$
echo "valgrind: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
