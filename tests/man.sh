#!/bin/sh
# The manual pages (man/): mandoc -Tlint finds no warning, svcc(1) names every
# command of the usage text and every long option, svc(5) every keyword of
# the scanner.  Usage: tests/man.sh BUILD_DIR.  Ends with "N passed, M failed".
set -u
# shellcheck source=tests/lib.sh
. tests/lib.sh

for m in man/svcc.1 man/svc.5 man/libsvcc.3; do
	if mandoc -Tlint -Wwarning "$m"; then ok; else bad "mandoc -Tlint $m"; fi
done
# the commands: the words that start the usage's command lines
for c in $("$build/svcc" --help | sed -n '/^commands:/,/^$/s/^  \([a-z][a-z0-9-]*\) .*/\1/p'); do
	if grep -q "^\.Ic $c\( \|$\)" man/svcc.1 || grep -q "^\.It Ic $c\( \|$\)" man/svcc.1; then ok; else
		bad "svcc.1 lacks the command $c"; fi
done
for o in $("$build/svcc" --help | grep -o -- '--[a-z][a-z0-9-]*' | sort -u); do
	if grep -q "Fl Fl ${o#--}\( \|$\)" man/svcc.1; then ok; else bad "svcc.1 lacks the option $o"; fi
done
for kw in $(sed -n 's/^"\([a-z-]*\)"{dashes}.*/\1/p' grammar/lexer.l); do
	if grep -q "^\.\(It \)\{0,1\}Ic $kw\( \|$\)" man/svc.5; then ok; else bad "svc.5 lacks the keyword $kw"; fi
done
echo "man: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
