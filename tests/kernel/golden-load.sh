#!/bin/sh
# Every golden ruleset loads into a real kernel: inside a private network
# namespace, `nft -c -f` then `nft -f` succeed and `nft list table` shows it.
# Loading twice proves the transaction replaces an earlier table atomically.
set -u
pass=0 fail=0
for f in examples/*.nft tests/golden/*.nft; do
	table=$(sed -n 's/^add table inet \(.*\)$/\1/p' "$f" | head -n 1)
	if unshare -n sh -c '
		nft -c -f "$1" && nft -f "$1" && nft -f "$1" &&
		nft list table inet "$2" > /dev/null &&
		[ "$(nft list tables | wc -l)" -eq 1 ]' sh "$f" "$table"; then
		pass=$((pass + 1))
	else
		fail=$((fail + 1))
		echo "FAIL: kernel load of $f"
	fi
done
echo "golden-load: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
