#!/bin/sh
# Kernel tests (root, private network namespaces).  Usage: tests/kernel/run.sh BUILD_DIR
set -u
build=${1:-build}
export SVCC="$build/svcc"
rc=0
for t in tests/kernel/golden-load.sh tests/runtime/kernel.sh tests/kernel/import-apply.sh; do
	sh "$t" "$build" || rc=1
done
bash tests/kernel/traffic.sh "$build" || rc=1
# svcc agent on a directory of .svc files: edits, a bad one, the owned table, restarts, HTTP
bash tests/kernel/agent.sh "$build" || rc=1
# a YAML stream of Kubernetes objects imported, applied, and its endpoints answering
bash tests/kernel/import-traffic.sh "$build" || rc=1
bash tests/kernel/conntrack.sh "$build" || rc=1
bash tests/kernel/detect-local.sh "$build" || rc=1
# svcc show: addresses, weights, and the connections conntrack holds
bash tests/kernel/show.sh "$build" || rc=1
# the bash completion's list of the tables svcc owns
bash tests/kernel/completion.sh "$build" || rc=1
# svcc trace against real packets: every prediction of a flow set must hold
bash tests/kernel/trace-diff.sh "$build" || rc=1
# the feature traffic through both paths: netlink (the default) and nft text
bash tests/kernel/features.sh "$build" || rc=1
VIA=--via=nft bash tests/kernel/features.sh "$build" || rc=1
# every kind of drift made with nft: found by verify, repaired by apply
bash tests/kernel/drift.sh "$build" || rc=1
VIA=--via=nft bash tests/kernel/drift.sh "$build" || rc=1
# SIGKILL of svcc apply at many points, four applies at once, foreign tables untouched
bash tests/kernel/process.sh "$build" || rc=1
# fault injection: allocation failures, refused and overflowing netlink batches
sh tests/fault/run.sh "$build" || rc=1
# 77: this kernel cannot track or NAT SCTP (said why)
bash tests/kernel/sctp.sh "$build"; case $? in 0|77) ;; *) rc=1 ;; esac
exit $rc
