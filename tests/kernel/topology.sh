# shellcheck shell=bash
# topology.sh - network-namespace topology for svcc's real-traffic kernel tests.
#
# Source it from a bash test (needs root, iproute2, nft, a C compiler):
#
#     . tests/kernel/topology.sh
#     topo_build_tools                  # compiles echo-server + probe into $TOPO_BIN
#     topo_trap                         # topo_down on EXIT/INT/TERM
#     topo_up                           # namespaces, veths, bridge, addresses, sysctls
#     topo_start_echo 8080              # echo-server on every pod address (v4 + v6)
#     topo_nft_load rules.nft           # nft -f inside the node namespace
#     in_outside "$TOPO_BIN/probe" tcp 10.96.0.10 80 30
#     topo_down                         # also run by the trap; idempotent
#
# Layout (namespace names are "$TOPO_PREFIX<role>", default prefix svcc-<pid>-):
#
#   outside  eth0 192.168.50.100/24 fd00:50::100/64, default route via node
#      |
#   node     veth-out 192.168.50.2/24 fd00:50::2/64; default route via outside
#            (so packets to VIPs without a NAT mapping are routed, reach the
#            forward hook and can be rejected; outside has forwarding off,
#            so stray packets die there instead of looping)
#            bridge cni0 10.244.1.1/24 fd00:244:1::1/64, ports veth-pod1..3
#            (hairpin on); ip/ip6 forwarding on; br_netfilter calls on;
#            rp_filter off; ICMP rate limits off (so rejects are never
#            rate-limited into timeouts)
#      |
#   pod1..3  eth0 10.244.1.1N/24 fd00:244:1::1N/64, default route via cni0
#
# Helpers: in_node CMD..., in_pod N CMD..., in_outside CMD..., in_ns ROLE CMD...
# (ROLE is node, pod1, pod2, pod3 or outside), topo_ns ROLE prints the
# namespace name.
#
# Every namespace this file creates is recorded in TOPO_NAMESPACES and
# deleted by topo_down, after killing (by pid) the processes running in it.

: "${TOPO_PREFIX:=svcc-$$-}"
TOPO_NAMESPACES=()
TOPO_PIDS=()
TOPO_TMP=""
TOPO_KERNEL_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
: "${TOPO_BIN:=$TOPO_KERNEL_DIR/build}"

# Addresses (read-only by convention).
TOPO_NODE_BR4=10.244.1.1
TOPO_NODE_BR6=fd00:244:1::1
TOPO_NODE_OUT4=192.168.50.2
TOPO_NODE_OUT6=fd00:50::2
TOPO_OUTSIDE4=192.168.50.100
TOPO_OUTSIDE6=fd00:50::100
TOPO_POD4=("" 10.244.1.11 10.244.1.12 10.244.1.13)   # index = pod number
TOPO_POD6=("" fd00:244:1::11 fd00:244:1::12 fd00:244:1::13)
TOPO_NPODS=3

topo_log() { echo "topology: $*" >&2; }

topo_ns() {
	case "$1" in
	node | outside | pod[0-9]*) echo "${TOPO_PREFIX}$1" ;;
	*)
		topo_log "unknown role '$1'"
		return 1
		;;
	esac
}

in_ns() {
	local role=$1
	shift
	ip netns exec "$(topo_ns "$role")" "$@"
}
in_node() { in_ns node "$@"; }
in_outside() { in_ns outside "$@"; }
in_pod() {
	local n=$1
	shift
	in_ns "pod$n" "$@"
}

# topo_build_tools [DIR]: compile echo-server and probe into DIR (default
# $TOPO_BIN, i.e. tests/kernel/build) unless they are up to date.
topo_build_tools() {
	local dir=${1:-$TOPO_BIN} t
	mkdir -p "$dir" || return 1
	for t in echo-server probe; do
		if [[ ! -x $dir/$t || $TOPO_KERNEL_DIR/$t.c -nt $dir/$t ]]; then
			# build under a temp name, then rename: parallel runs never
			# execute a half-written binary
			${CC:-cc} -std=c11 -Wall -Wextra -Werror -D_GNU_SOURCE -O2 \
				-o "$dir/$t.tmp.$$" "$TOPO_KERNEL_DIR/$t.c" &&
				mv -f "$dir/$t.tmp.$$" "$dir/$t" || {
				rm -f "$dir/$t.tmp.$$"
				return 1
			}
		fi
	done
	TOPO_BIN=$dir
}

_topo_addns() {
	local ns
	ns=$(topo_ns "$1") || return 1
	ip netns add "$ns" || return 1
	TOPO_NAMESPACES+=("$ns")
	ip -n "$ns" link set lo up
}

# Check (and if possible arrange) that br_netfilter is usable in the node ns.
_topo_br_netfilter() {
	if ! in_node test -e /proc/sys/net/bridge/bridge-nf-call-iptables; then
		command -v modprobe >/dev/null && modprobe br_netfilter 2>/dev/null
	fi
	if ! in_node test -e /proc/sys/net/bridge/bridge-nf-call-iptables; then
		topo_log "br_netfilter not available (no net.bridge.bridge-nf-call-iptables)"
		return 1
	fi
	in_node sysctl -qw net.bridge.bridge-nf-call-iptables=1 &&
		in_node sysctl -qw net.bridge.bridge-nf-call-ip6tables=1
}

_topo_up() {
	local node n ns
	[[ $(id -u) == 0 ]] || {
		topo_log "must run as root"
		return 1
	}
	TOPO_TMP=$(mktemp -d "${TMPDIR:-/tmp}/svcc-kernel.XXXXXX") || return 1

	_topo_addns node || return 1
	_topo_addns outside || return 1
	for ((n = 1; n <= TOPO_NPODS; n++)); do _topo_addns "pod$n" || return 1; done
	node=$(topo_ns node)

	# node: sysctls
	in_node sysctl -qw net.ipv4.ip_forward=1 || return 1
	in_node sysctl -qw net.ipv6.conf.all.forwarding=1 || return 1
	in_node sysctl -qw net.ipv4.conf.all.rp_filter=0
	in_node sysctl -qw net.ipv4.conf.default.rp_filter=0
	in_node sysctl -qw net.ipv4.icmp_ratelimit=0
	in_node sysctl -qw net.ipv6.icmp.ratelimit=0
	in_node sysctl -qw net.ipv6.conf.default.accept_dad=0
	_topo_br_netfilter || return 2

	# node: bridge
	ip -n "$node" link add cni0 type bridge forward_delay 0 mcast_snooping 0 || return 1
	ip -n "$node" addr add "$TOPO_NODE_BR4/24" dev cni0 || return 1
	ip -n "$node" addr add "$TOPO_NODE_BR6/64" dev cni0 nodad || return 1
	ip -n "$node" link set cni0 up || return 1

	# pods
	for ((n = 1; n <= TOPO_NPODS; n++)); do
		ns=$(topo_ns "pod$n")
		in_pod "$n" sysctl -qw net.ipv6.conf.default.accept_dad=0
		in_pod "$n" sysctl -qw net.ipv6.conf.all.accept_dad=0
		ip -n "$node" link add "veth-pod$n" type veth peer name eth0 netns "$ns" || return 1
		ip -n "$node" link set "veth-pod$n" master cni0 || return 1
		ip -n "$node" link set "veth-pod$n" up || return 1
		ip netns exec "$node" bridge link set dev "veth-pod$n" hairpin on || return 1
		ip -n "$ns" addr add "${TOPO_POD4[n]}/24" dev eth0 || return 1
		ip -n "$ns" addr add "${TOPO_POD6[n]}/64" dev eth0 nodad || return 1
		ip -n "$ns" link set eth0 up || return 1
		ip -n "$ns" route add default via "$TOPO_NODE_BR4" || return 1
		ip -n "$ns" -6 route add default via "$TOPO_NODE_BR6" || return 1
	done

	# outside
	ns=$(topo_ns outside)
	in_outside sysctl -qw net.ipv4.ip_forward=0
	in_outside sysctl -qw net.ipv6.conf.all.forwarding=0
	in_outside sysctl -qw net.ipv6.conf.default.accept_dad=0
	ip -n "$node" link add veth-out type veth peer name eth0 netns "$ns" || return 1
	ip -n "$node" addr add "$TOPO_NODE_OUT4/24" dev veth-out || return 1
	ip -n "$node" addr add "$TOPO_NODE_OUT6/64" dev veth-out nodad || return 1
	ip -n "$node" link set veth-out up || return 1
	ip -n "$ns" addr add "$TOPO_OUTSIDE4/24" dev eth0 || return 1
	ip -n "$ns" addr add "$TOPO_OUTSIDE6/64" dev eth0 nodad || return 1
	ip -n "$ns" link set eth0 up || return 1
	ip -n "$ns" route add default via "$TOPO_NODE_OUT4" || return 1
	ip -n "$ns" -6 route add default via "$TOPO_NODE_OUT6" || return 1

	# node default route: VIPs without a DNAT mapping must be routable, or
	# they are dropped (no route) before the forward hook / output hook.
	ip -n "$node" route add default via "$TOPO_OUTSIDE4" || return 1
	ip -n "$node" -6 route add default via "$TOPO_OUTSIDE6" || return 1
}

# topo_up: build the whole topology.  On failure it tears down what it made
# and returns 2 if the kernel lacks br_netfilter (callers may skip), else 1.
topo_up() {
	local rc
	_topo_up
	rc=$?
	if ((rc != 0)); then
		topo_log "topo_up failed"
		topo_down
		return "$rc"
	fi
}

# topo_start_echo PORT: start "echo-server ADDR PORT" in every pod, for its
# IPv4 and its IPv6 address, and wait until all print "ready".
topo_start_echo() {
	local port=$1 n a log i ok
	local -a logs=()
	for ((n = 1; n <= TOPO_NPODS; n++)); do
		for a in "${TOPO_POD4[n]}" "${TOPO_POD6[n]}"; do
			log="$TOPO_TMP/echo-pod$n-$a-$port.log"
			in_pod "$n" "$TOPO_BIN/echo-server" "$a" "$port" >"$log" 2>&1 &
			TOPO_PIDS+=($!)
			logs+=("$log")
		done
	done
	for ((i = 0; i < 100; i++)); do
		ok=1
		for log in "${logs[@]}"; do grep -q '^ready' "$log" || ok=0; done
		((ok)) && return 0
		sleep 0.05
	done
	topo_log "echo-server did not become ready:"
	for log in "${logs[@]}"; do cat "$log" >&2; done
	return 1
}

# topo_nft_load FILE: nft -f FILE inside the node namespace.
topo_nft_load() { in_node nft -f "$1"; }

# topo_down: kill everything running in our namespaces, delete them, remove
# the temp dir.  Safe to call repeatedly and after partial topo_up.
topo_down() {
	local pid ns
	for pid in "${TOPO_PIDS[@]}"; do kill "$pid" 2>/dev/null; done
	for ns in "${TOPO_NAMESPACES[@]}"; do
		for pid in $(ip netns pids "$ns" 2>/dev/null); do kill "$pid" 2>/dev/null; done
	done
	for pid in "${TOPO_PIDS[@]}"; do wait "$pid" 2>/dev/null; done
	for ns in "${TOPO_NAMESPACES[@]}"; do
		for pid in $(ip netns pids "$ns" 2>/dev/null); do kill -9 "$pid" 2>/dev/null; done
		ip netns del "$ns" 2>/dev/null
	done
	TOPO_PIDS=()
	TOPO_NAMESPACES=()
	[[ -n $TOPO_TMP && -d $TOPO_TMP ]] && rm -rf "$TOPO_TMP"
	TOPO_TMP=""
	return 0
}

# topo_trap: run topo_down on exit, and turn INT/TERM into an exit (so the
# EXIT trap runs).  Chains any EXIT trap command given as $1.
topo_trap() {
	local extra=${1:-}
	# shellcheck disable=SC2064
	trap "${extra:+$extra;} topo_down" EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
}

# topo_reap_stale: delete namespaces named svcc-<pid>-* whose creating
# process no longer exists (left over by a run that was SIGKILLed).
topo_reap_stale() {
	local ns pid p
	for ns in $(ip netns list | awk '{print $1}'); do
		[[ $ns =~ ^svcc-([0-9]+)- ]] || continue
		pid=${BASH_REMATCH[1]}
		[[ $pid == "$$" ]] && continue
		kill -0 "$pid" 2>/dev/null && continue
		for p in $(ip netns pids "$ns" 2>/dev/null); do kill -9 "$p" 2>/dev/null; done
		ip netns del "$ns" 2>/dev/null
	done
}
