# lib.sh - what the offline test scripts share.  Sourced, from the source
# tree, by a script run as SCRIPT BUILD_DIR: sets $build and $svcc, makes
# $tmp (removed at exit), and ok/bad count the results into $pass and $fail.
# shellcheck shell=sh
# shellcheck disable=SC2034 # the sourcing script uses them
build=${1:-build}
svcc=$build/svcc
pass=0 fail=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

ok()  { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*"; }
