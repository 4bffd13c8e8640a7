#!/bin/bash
# contrib/: the bash completion (COMPREPLY for commands, options, their values,
# .svc files and the tables svcc owns, with a fake nft that lists three inet
# tables: svcc's map in kp, svcc-old by its name, other) and the vim syntax
# file (every keyword of the scanner, and the words statements take).
set -u
pass=0 fail=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/bin" "$tmp/work/sub"
cat > "$tmp/bin/nft" <<'NFT'
#!/bin/sh
case "$*" in
"-t list maps inet") printf 'table inet kp {\n\tmap service-ips {\n\t}\n\tmap set-fingerprints {\n\t}\n}\ntable inet other {\n\tmap set-fingerprints-not {\n\t}\n}\n' ;;
"list tables inet") printf 'table inet kp\ntable inet other\ntable inet svcc-old\n' ;;
*) exit 1 ;;
esac
NFT
chmod +x "$tmp/bin/nft"
vim=contrib/vim/syntax/svc.vim
for kw in $(sed -n 's/^"\([a-z-]*\)"{dashes}.*/\1/p' grammar/lexer.l) tcp udp sctp proxy client-ip timeout none \
	external internal local terminating weight node hint-zone hint-node prefer-same-zone prefer-close prefer-same-node; do
	if awk -v k="$kw" '$1 == "syn" && $2 == "keyword" { for (i = 4; i <= NF; i++) if ($i == k) f = 1 }
			   END { exit !f }' "$vim"; then pass=$((pass + 1)); else
		fail=$((fail + 1)); echo "FAIL: $vim lacks '$kw'"; fi
done
[ "$(sed -n 's/^"\([a-z-]*\)"{dashes}.*/\1/p' grammar/lexer.l | wc -l)" -ge 25 ] || { fail=$((fail + 1)); echo "FAIL: keywords of lexer.l not found"; }

PATH=$tmp/bin:$PATH
. contrib/bash-completion/svcc
cd "$tmp/work" && touch web.svc notes.txt svc.json

# expect "WORDS" "WANT": complete the last of WORDS; WANT is COMPREPLY sorted, space-separated
expect() {
	read -r -a COMP_WORDS <<< "$1"
	[[ $1 == *' ' ]] && COMP_WORDS+=('')
	COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
	COMPREPLY=()
	_svcc 2>/dev/null
	got=$(printf '%s\n' "${COMPREPLY[@]}" | sort | tr '\n' ' ' | sed 's/ $//')
	if [ "$got" = "$2" ]; then pass=$((pass + 1)); else fail=$((fail + 1)); echo "FAIL: '$1': got '$got', want '$2'"; fi
}
expect "svcc " "apply check compile delete diff fmt help import-k8s show trace verify"
expect "svcc show --" "--color --help --json --stats --table --version"
expect "svcc comp" "compile"
expect "svcc --table kp ap" "apply"
expect "svcc apply --d" "--dry-run"
expect "svcc apply --via=n" "netlink nft"
expect "svcc --color=a" "always auto"
expect "svcc --table " "kp svcc-old"
expect "svcc check --table=s" "svcc-old"
expect "svcc compile " "sub web.svc"
expect "svcc -t kp apply -n w" "web.svc"
expect "svcc import-k8s " "sub svc.json"
expect "svcc help v" "verify"
expect "svcc delete " ""
echo "contrib: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
