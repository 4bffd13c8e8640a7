#!/bin/sh
# The compiler and unit tests under valgrind: no invalid access, no leak.
set -u
build=${1:-build}
pass=0 fail=0
# without valgrind nothing here can fail: that is a failure, not a pass
if ! command -v valgrind > /dev/null; then
	echo "FAIL: valgrind is not installed (apt-get install valgrind)"
	echo "valgrind: 0 passed, 1 failed"
	exit 1
fi
# exit 99 is valgrind's own: bad input exiting 1 is fine here; 126/127
# (could not run) and 128+ (killed by a signal) are failures too
vg() {
	valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=all \
		"$@" > /dev/null 2> /tmp/svcc-vg.$$
	rc=$?
	if [ $rc -ne 99 ] && [ $rc -lt 126 ]; then
		pass=$((pass + 1))
	else
		fail=$((fail + 1)); echo "FAIL: valgrind $* (exit $rc)"; cat /tmp/svcc-vg.$$
	fi
}
for f in examples/*.svc tests/golden/*.svc tests/bad/*.svc; do
	vg "$build/svcc" compile "$f"
done
vg "$build/svcc" import-k8s examples/k8s/services.json examples/k8s/endpointslices.json --node node-a
# YAML: a mixed List, a stream of documents, and JSON on stdin
vg "$build/svcc" import-k8s tests/import/cluster.yaml tests/import/shop-stream.yaml - --node node-a < tests/import/api.json
# trace: the walk's forks (numgen, weights), IPv6, JSON, a refused flow
vg "$build/svcc" trace examples/cluster.svc --from 10.244.1.11 --to 10.100.12.7:80
vg "$build/svcc" trace tests/golden/affinity.svc --from 10.244.9.9 --to 10.96.0.10:80 --json
vg "$build/svcc" trace tests/golden/nodeport.svc --from fd00:50::100 --to [fd00:50::2]:30080 --from-outside --node-addr fd00:50::2
vg "$build/svcc" trace examples/minimal.svc --from fd00::1 --to 10.96.0.10:80
# fmt: a file with every statement, and --check of a bad config
vg "$build/svcc" fmt tests/fmt/everything.svc
vg "$build/svcc" fmt --check examples/minimal.svc tests/bad/bad-address.svc
for t in "$build"/tests/*; do
	[ -f "$t" ] && [ -x "$t" ] && vg "$t"
done
# the runtime, in a private network namespace: full apply, a change, a no-op,
# a dry run, delete; each under valgrind.  Each run that passes says "ok":
# a namespace that cannot be made runs nothing, and passes nothing.
if [ "$(id -u)" = 0 ]; then
	unshare -n sh -c '
		for args in "apply examples/cluster.svc" "apply examples/minimal.svc" \
			    "apply examples/minimal.svc" "apply --dry-run examples/cluster.svc" "delete"; do
			valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=all \
				"$1/svcc" $args > /dev/null 2> "$2"
			rc=$?
			if [ $rc -eq 0 ]; then echo "ok"
			else echo "FAIL: valgrind svcc $args (exit $rc)"; cat "$2"; fi
		done; true' sh "$build" /tmp/svcc-vg.$$ > /tmp/svcc-vgns.$$ 2>&1
	n=$(grep -c '^ok$' /tmp/svcc-vgns.$$)
	grep -v '^ok$' /tmp/svcc-vgns.$$
	pass=$((pass + n)) fail=$((fail + 5 - n))
	rm -f /tmp/svcc-vgns.$$
else
	echo "valgrind: the 5 runtime runs skipped (not root)"
fi
rm -f /tmp/svcc-vg.$$
echo "valgrind: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
