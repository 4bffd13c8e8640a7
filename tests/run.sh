#!/bin/sh
# Offline tests: unit tests, golden rulesets, bad-input diagnostics, the CLI.
# Usage: tests/run.sh BUILD_DIR.  Ends with "N passed, M failed".
set -u
# shellcheck source=tests/lib.sh
. tests/lib.sh

# unit tests: each is a program that exits non-zero on failure
for t in "$build"/tests/*; do
	[ -f "$t" ] && [ -x "$t" ] || continue
	if "$t" > "$tmp/unit.out" 2>&1; then ok; else bad "unit $(basename "$t")"; cat "$tmp/unit.out"; fi
done

# golden: every example and golden config compiles to its reviewed .nft
for f in examples/*.svc tests/golden/*.svc; do
	want=${f%.svc}.nft
	if [ ! -f "$want" ]; then bad "golden $f: no $want (make golden-update)"; continue; fi
	if ! "$svcc" compile "$f" > "$tmp/out.nft" 2> "$tmp/err"; then
		bad "golden $f: compile failed"; cat "$tmp/err"; continue
	fi
	if diff -u "$want" "$tmp/out.nft" > "$tmp/diff"; then ok; else bad "golden $f"; head -40 "$tmp/diff"; fi
done

# bad input: exit 1, nothing on stdout, exactly the reviewed diagnostics
for f in tests/bad/*.svc; do
	"$svcc" compile "$f" > "$tmp/out" 2> "$tmp/err"
	rc=$?
	if [ $rc -ne 1 ]; then bad "bad $f: exit $rc, want 1"; continue; fi
	if [ -s "$tmp/out" ]; then bad "bad $f: printed to stdout"; continue; fi
	if diff -u "${f%.svc}.err" "$tmp/err" > "$tmp/diff"; then ok; else bad "bad $f"; cat "$tmp/diff"; fi
done

# the command line
expect_exit() {
	want=$1; shift
	"$@" > "$tmp/out" 2>&1
	rc=$?
	if [ $rc -eq "$want" ]; then ok; else bad "'$*' exited $rc, want $want"; fi
}
expect_exit 2 "$svcc"
expect_exit 2 "$svcc" frobnicate x.svc
expect_exit 2 "$svcc" compile
expect_exit 2 "$svcc" verify a.svc b.svc
expect_exit 1 "$svcc" verify tests/bad/syntax-errors.svc
expect_exit 1 sh -c "'$svcc' verify < tests/bad/syntax-errors.svc"
# "-": the config from standard input, named <stdin> in diagnostics
if "$svcc" compile - < examples/minimal.svc | cmp -s - examples/minimal.nft; then ok; else bad "compile -"; fi
if "$svcc" check - < tests/bad/bad-address.svc 2>&1 | grep -q '^<stdin>:2:9: error: invalid address'; then ok; else
	bad "check - (diagnostics named <stdin>)"; fi
expect_exit 2 "$svcc" --bogus compile examples/minimal.svc
expect_exit 0 "$svcc" --help
expect_exit 0 "$svcc" check examples/cluster.svc
expect_exit 1 "$svcc" check /nonexistent.svc
expect_exit 1 "$svcc" --table 'bad name' compile examples/minimal.svc
if "$svcc" --version | grep -q '^svcc [0-9]'; then ok; else bad "--version"; fi
if "$svcc" --table kp compile examples/minimal.svc | grep -q '^add table inet kp$'; then ok; else bad "--table"; fi
# options anywhere, GNU style; "--" ends them
if "$svcc" compile examples/minimal.svc --table kp | grep -q '^add table inet kp$'; then ok; else bad "--table after the file"; fi
if "$svcc" compile -tkp examples/minimal.svc | grep -q '^add table inet kp$'; then ok; else bad "-tNAME"; fi
if "$svcc" compile --table=kp -- examples/minimal.svc | grep -q '^add table inet kp$'; then ok; else bad "--table=NAME and --"; fi
expect_exit 0 "$svcc" apply --help
expect_exit 0 "$svcc" help apply
expect_exit 0 "$svcc" check examples/minimal.svc --version
expect_exit 2 "$svcc" compile -x examples/minimal.svc
expect_exit 2 "$svcc" compile examples/minimal.svc --table
# misspelled commands and options: the nearest one suggested
if "$svcc" complie x.svc 2>&1 | grep -q "^svcc: unknown command 'complie'; did you mean 'compile'?$"; then ok; else
	bad "misspelled command"; fi
if "$svcc" compile --tabel=kp x.svc 2>&1 | grep -q "^svcc: unknown option '--tabel'; did you mean '--table'?$"; then ok; else
	bad "misspelled global option"; fi
if "$svcc" apply --dry-rn x.svc 2>&1 | grep -q "^svcc: unknown option '--dry-rn'; did you mean '--dry-run'?$"; then ok; else
	bad "misspelled apply option"; fi
if "$svcc" frobnicate x.svc 2>&1 | grep -q "^svcc: unknown command 'frobnicate'$"; then ok; else bad "unknown command, no suggestion"; fi
# colour: as gcc's on --color=always (NO_COLOR only turns off the default), none when stderr is no terminal
esc=$(printf '\033')
printf '%s\n' "${esc}[01mtests/bad/bad-address.svc:2:9:${esc}[m ${esc}[01;31merror:${esc}[m invalid address '10.96.0.300' in vip" \
	"    vip ${esc}[01;31m10.96.0.300${esc}[m;" "        ${esc}[01;31m^~~~~~~~~~~${esc}[m" > "$tmp/color.want"
NO_COLOR=1 "$svcc" check --color=always tests/bad/bad-address.svc 2> "$tmp/color.err"
if cmp -s "$tmp/color.want" "$tmp/color.err"; then ok; else bad "--color=always"; cat -v "$tmp/color.err"; fi
"$svcc" --color check tests/bad/bad-address.svc 2> "$tmp/color.err"
if cmp -s "$tmp/color.want" "$tmp/color.err"; then ok; else bad "--color"; fi
for c in --color=never --color=auto ""; do
	"$svcc" $c check tests/bad/bad-address.svc 2> "$tmp/color.err"
	if cmp -s tests/bad/bad-address.err "$tmp/color.err"; then ok; else bad "colour with '$c' (no terminal)"; fi
done
expect_exit 2 "$svcc" --color=sometimes check examples/minimal.svc
# auto on a terminal (script(1) gives it one): colour, unless NO_COLOR is set and not empty
if command -v script > /dev/null; then
	for nc in unset "" 1; do
		if [ "$nc" = unset ]; then
			env -u NO_COLOR script -qec "'$svcc' check tests/bad/bad-address.svc" /dev/null > "$tmp/tty.out"
		else
			NO_COLOR=$nc script -qec "'$svcc' check tests/bad/bad-address.svc" /dev/null > "$tmp/tty.out"
		fi
		if grep -q "$esc" "$tmp/tty.out"; then has=1; else has=0; fi
		if [ "$has" = "$([ "$nc" = 1 ] && echo 0 || echo 1)" ]; then ok; else bad "--color=auto on a terminal, NO_COLOR=$nc"; fi
	done
else
	bad "script(1) missing: --color=auto on a terminal untested"
fi

# canonical: input order does not change the output
awk 'BEGIN{RS="";ORS="\n\n"} {b[NR]=$0} END{for(i=NR;i>=1;i--) print b[i]}' examples/cluster.svc > "$tmp/rev.svc"
"$svcc" compile examples/cluster.svc > "$tmp/a.nft"
"$svcc" compile "$tmp/rev.svc" > "$tmp/b.nft"
if cmp -s "$tmp/a.nft" "$tmp/b.nft"; then ok; else bad "output depends on block order"; fi

# big: 2,000 services x 10 endpoints, enough for the lowering's second
# thread (hairpin elements, chain order): every endpoint once in the
# endpoint maps and once as its own hairpin pair in the right shard, and
# the output still independent of block order
awk 'BEGIN { print "cluster { pod-cidr 10.244.0.0/16; }"
	for (i = 0; i < 2000; i++) {
		printf "service ns/big-%d {\n    vip 10.96.%d.%d;\n    port 80/tcp -> 8080;\n", i, int(i / 250), i % 250 + 1
		for (j = 0; j < 10; j++) { e = i * 10 + j; printf "    endpoint 10.244.%d.%d;\n", int(e / 250), e % 250 + 1 }
		print "}"
	} }' > "$tmp/big.svc"
awk 'BEGIN{RS="";ORS="\n\n"} {b[NR]=$0} END{for(i=NR;i>=1;i--) print b[i]}' "$tmp/big.svc" > "$tmp/bigrev.svc"
"$svcc" compile "$tmp/big.svc" > "$tmp/big.nft" && "$svcc" compile "$tmp/bigrev.svc" > "$tmp/bigrev.nft"
awk '/^add element inet svcc hairpin-[0-9]+ /{ split($5, nm, "-"); s = nm[2]; h = 1; next }
     /^add element inet svcc endpoints-/{ h = 0; m = 1; next }
     /^}/{ h = m = 0 }
     h { sub(/,$/, ""); split($1, a, "."); if ($1 == $3 && a[4] == s) hp[$1]++; else badhp++ }
     m { sub(/,$/, ""); ep[$3]++ }
     END { for (e in ep) { n++; if (ep[e] != 1 || hp[e] != 1) wrong++ }
	   for (e in hp) nh++
	   print n + 0, nh + 0, wrong + badhp }' "$tmp/big.nft" > "$tmp/big.count"
if [ "$(cat "$tmp/big.count")" = "20000 20000 0" ] && cmp -s "$tmp/big.nft" "$tmp/bigrev.nft"; then ok; else
	bad "big config: endpoints, hairpin pairs, wrong: $(cat "$tmp/big.count")"; fi

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
