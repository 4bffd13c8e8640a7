#!/bin/bash
# The bash completion's tables from a real kernel, in a private network
# namespace: those svcc apply wrote (its set-fingerprints map, any name), one
# loaded with nft -f and named svcc*, and neither another inet table nor an ip
# table named svcc*.  Usage: tests/kernel/completion.sh BUILD_DIR.
set -u
build=${1:-build}
got=$(unshare -n bash -c '
	svcc=$1
	"$svcc" apply examples/minimal.svc && "$svcc" --table kp apply examples/minimal.svc &&
	"$svcc" --table svcc-old compile examples/minimal.svc | nft -f - &&
	nft add table inet other && nft add table ip svcc-ip || exit 1
	. contrib/bash-completion/svcc
	COMP_WORDS=(svcc --table "") COMP_CWORD=2
	_svcc
	echo "${COMPREPLY[@]}"' sh "$build/svcc" 2>&1)
if [ "$got" = "kp svcc svcc-old" ]; then
	echo "completion: 1 passed, 0 failed"
else
	echo "FAIL: completion of --table: got '$got', want 'kp svcc svcc-old'"
	echo "completion: 0 passed, 1 failed"
	exit 1
fi
