#!/bin/sh
# Kernel tests (root, private network namespaces).  Usage: tests/kernel/run.sh BUILD_DIR
set -u
build=${1:-build}
export SVCC="$build/svcc"
rc=0
for t in tests/kernel/golden-load.sh tests/runtime/kernel.sh; do
	sh "$t" "$build" || rc=1
done
bash tests/kernel/traffic.sh "$build" || rc=1
bash tests/kernel/conntrack.sh "$build" || rc=1
# the netlink linearisation of NodePort and firewall rules is being written:
# until then the feature traffic goes through the nft text path
VIA=--via=nft bash tests/kernel/features.sh "$build" || rc=1
exit $rc
