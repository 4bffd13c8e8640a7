#!/bin/sh
# svcc fmt: the reviewed canonical forms (tests/fmt/*.svc -> *.fmt); for every
# config of examples/ and tests/golden/, its canonical form compiles to the
# same bytes, is its own canonical form (--check exits 0, fmt changes
# nothing), and the file itself is reported by --check when it differs;
# stdin, several files, comments named, errors and usage.
# Usage: tests/fmt/run.sh BUILD_DIR.  Ends with "N passed, M failed".
set -u
# shellcheck source=tests/lib.sh
. tests/lib.sh

for f in tests/fmt/*.svc; do
	if "$svcc" fmt "$f" > "$tmp/out" 2> "$tmp/err" && diff -u "${f%.svc}.fmt" "$tmp/out" > "$tmp/diff"; then
		ok; else bad "fmt $f"; cat "$tmp/diff" "$tmp/err"; fi
	# the reviewed form is canonical, and compiles as its source does
	if "$svcc" fmt --check "${f%.svc}.fmt" > "$tmp/out" && [ ! -s "$tmp/out" ]; then ok; else
		bad "fmt --check ${f%.svc}.fmt"; fi
	"$svcc" compile "$f" > "$tmp/a.nft" && "$svcc" compile "${f%.svc}.fmt" > "$tmp/b.nft"
	if cmp -s "$tmp/a.nft" "$tmp/b.nft"; then ok; else bad "fmt $f compiles to other bytes"; fi
done

for f in examples/*.svc tests/golden/*.svc; do
	"$svcc" fmt "$f" > "$tmp/f.svc" 2> /dev/null || { bad "fmt $f failed"; continue; }
	"$svcc" compile "$f" > "$tmp/a.nft"
	"$svcc" compile "$tmp/f.svc" > "$tmp/b.nft"
	if cmp -s "$tmp/a.nft" "$tmp/b.nft"; then ok; else bad "fmt $f compiles to other bytes"; fi
	if "$svcc" fmt --check "$tmp/f.svc" > "$tmp/out" && [ ! -s "$tmp/out" ] &&
	   "$svcc" fmt "$tmp/f.svc" | cmp -s - "$tmp/f.svc"; then ok; else bad "fmt of fmt $f differs"; fi
	# --check on the file itself: exit 1 and its name exactly when it differs
	"$svcc" fmt --check "$f" > "$tmp/out" 2> /dev/null
	rc=$?
	if cmp -s "$f" "$tmp/f.svc"; then want=0 name=; else want=1 name=$f; fi
	if [ $rc -eq $want ] && [ "$(cat "$tmp/out")" = "$name" ]; then ok; else
		bad "fmt --check $f: exit $rc, printed '$(cat "$tmp/out")'"; fi
done

# several files, one not canonical: only its name, exit 1; the comments said
"$svcc" fmt tests/fmt/default.svc > "$tmp/a.svc" 2> /dev/null
"$svcc" fmt --check "$tmp/a.svc" tests/fmt/default.svc tests/fmt/keywords.fmt > "$tmp/out" 2> "$tmp/err"
rc=$?
if [ $rc -eq 1 ] && [ "$(cat "$tmp/out")" = tests/fmt/default.svc ] &&
   grep -q '^svcc fmt: tests/fmt/default.svc: comments dropped' "$tmp/err" &&
   [ "$(wc -l < "$tmp/err")" -eq 1 ]; then ok; else bad "fmt --check of three files: exit $rc"; cat "$tmp/out" "$tmp/err"; fi
# fmt of two files: both, in order
"$svcc" fmt tests/fmt/default.svc tests/fmt/keywords.svc > "$tmp/out" 2> /dev/null
if cat tests/fmt/default.fmt tests/fmt/keywords.fmt | cmp -s - "$tmp/out"; then ok; else bad "fmt of two files"; fi
# standard input, named <stdin>
if "$svcc" fmt - < tests/fmt/default.svc 2> "$tmp/err" | cmp -s - tests/fmt/default.fmt &&
   grep -q '^svcc fmt: <stdin>: comments dropped' "$tmp/err"; then ok; else bad "fmt -"; fi
if "$svcc" fmt --check - < tests/fmt/default.fmt > "$tmp/out" && [ ! -s "$tmp/out" ]; then ok; else bad "fmt --check -"; fi
# a bad config: its diagnostics, exit 1, nothing on stdout
"$svcc" fmt tests/bad/bad-address.svc > "$tmp/out" 2> "$tmp/err"
rc=$?
if [ $rc -eq 1 ] && [ ! -s "$tmp/out" ] && grep -q "error: invalid address '10.96.0.300'" "$tmp/err"; then ok; else
	bad "fmt of a bad config: exit $rc"; fi
"$svcc" fmt --check /nonexistent.svc > "$tmp/out" 2>&1
if [ $? -eq 1 ]; then ok; else bad "fmt --check of a missing file"; fi
for args in "fmt" "fmt --check" "fmt --chek examples/minimal.svc"; do
	$svcc $args > /dev/null 2>&1
	rc=$?
	if [ $rc -eq 2 ]; then ok; else bad "svcc $args: exit $rc, want 2"; fi
done
echo "fmt: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
