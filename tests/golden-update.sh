#!/bin/sh
# Rewrite the expected outputs from the current compiler, for review with git diff.
set -u
svcc=${1:-build}/svcc
for f in examples/*.svc tests/golden/*.svc; do
	"$svcc" compile "$f" > "${f%.svc}.nft"
done
for f in tests/bad/*.svc; do
	"$svcc" compile "$f" 2> "${f%.svc}.err" > /dev/null
done
git status --short -- examples tests/golden tests/bad
