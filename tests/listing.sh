# listing.sh - nft listings of svcc's table as comparable lines, for the
# kernel tests (sourced by tests/runtime/kernel.sh and tests/kernel/lib.sh).
# shellcheck shell=sh

# A listing (stdin) as sorted lines, each set element on its own line after
# its set's name: a range of concatenations lists in the order its elements
# were added, which an incremental change does not keep.
listing_lines() {
	awk '/^\t(set|map) /{ s = $2 }
	     /elements = \{/{ e = 1; sub(/.*elements = \{ /, "") }
	     e { l = $0; sub(/^[ \t]+/, "", l); c = sub(/ \}$/, "", l)
		 n = split(l, a, /, ?/)
		 for (i = 1; i <= n; i++) if (a[i] != "") print s ": " a[i]
		 if (c) e = 0; next }
	     { print }' | sort
}

# listing_lines, as what the table does: an endpoint map element's key as its
# slot (key >> 16), set-fingerprints left out.  The runtime keeps the kernel's
# arrangement of a service's endpoints (runtime/slots.c), where a whole
# compile starts each round where the service's name hashes to; the
# fingerprints hash the elements.
behaviour() {
	listing_lines | grep -v '^set-fingerprints: ' |
	awk -F': ' '$1 ~ /^endpoints6?-/ && NF == 3 { k = $2 + 0
		printf "%s: slot %d : %s\n", $1, int(k / 65536), $3; next } { print }' | sort
}
