package svcc

// #include <stdlib.h>
// #include <svcc.h>
import "C"

import (
	"fmt"
)

// Source is where a traced packet comes from.
type Source int

const (
	FromPod     Source = C.SVCC_FROM_POD
	FromNode    Source = C.SVCC_FROM_NODE
	FromOutside Source = C.SVCC_FROM_OUTSIDE
	FromGuess   Source = C.SVCC_FROM_GUESS // by the source address
)

// Flow is the first packet of a new connection.
type Flow struct {
	From         Source
	Saddr, Daddr string
	Dport        uint16
	Proto        Proto
	IIfName      string   // "": from a pod, the one the ruleset names; from outside, "eth0"
	NodeAddrs    []string // the node's own addresses, besides the ruleset's node-ips
}

// Verdict of a traced connection.
type Verdict int

const (
	VerdictDNAT        Verdict = C.SVCC_TRACE_DNAT
	VerdictAccept      Verdict = C.SVCC_TRACE_ACCEPT
	VerdictReset       Verdict = C.SVCC_TRACE_RESET
	VerdictUnreachable Verdict = C.SVCC_TRACE_UNREACHABLE
	VerdictDrop        Verdict = C.SVCC_TRACE_DROP
)

func (v Verdict) String() string {
	switch v {
	case VerdictDNAT:
		return "dnat"
	case VerdictAccept:
		return "accept"
	case VerdictReset:
		return "reset"
	case VerdictUnreachable:
		return "unreachable"
	case VerdictDrop:
		return "drop"
	}
	return fmt.Sprintf("verdict(%d)", int(v))
}

// Outcome is one way a new connection goes, and its share of them.
type Outcome struct {
	Verdict    Verdict
	Share      float64 // 0 < Share <= 1
	Addr       string  // where it goes: the endpoint, else the destination
	Port       uint16
	Masquerade bool   // its source rewritten to the node's address
	Local      bool   // delivered to the node itself
	Path       string // "prerouting: nat-prerouting > services > svc-..; forward: ..."
}

// Trace takes flow through rs as the kernel would, in user space: its
// outcomes, sorted.  A malformed flow fails with EINVAL, the reason in Diags.
func Trace(rs *Ruleset, flow Flow) ([]Outcome, error) {
	var strs cstrs
	defer strs.free()
	cf := C.struct_svcc_flow{from: C.enum_svcc_source(flow.From), dport: C.uint16_t(flow.Dport),
		proto: C.enum_svcc_proto(flow.Proto)}
	for _, s := range []struct {
		dst      **C.char
		v        string
		optional bool
	}{{&cf.saddr, flow.Saddr, false}, {&cf.daddr, flow.Daddr, false}, {&cf.iifname, flow.IIfName, true}} {
		cs, err := strs.add(s.v, s.optional)
		if err != nil {
			return nil, &Error{Op: "Trace", Err: err.(*Error).Err}
		}
		*s.dst = cs
	}
	addrs, err := cStrings("Trace", flow.NodeAddrs)
	if err != nil {
		return nil, err
	}
	defer freeCStrings(addrs, len(flow.NodeAddrs))
	cf.node_addrs, cf.n_node_addrs = addrs, C.size_t(len(flow.NodeAddrs))

	ctx, cerr := C.svcc_ctx_new()
	if ctx == nil {
		return nil, newError("Trace", cerr, nil)
	}
	defer C.svcc_ctx_free(ctx)
	var out []Outcome
	err = rs.with("Trace", func(c *C.struct_svcc_ruleset) error {
		var t *C.struct_svcc_trace
		if rc, err := C.svcc_trace(ctx, c, &cf, &t); rc != 0 {
			return newError("Trace", err, ctx)
		}
		defer C.svcc_trace_free(t)
		n := C.svcc_trace_count(t)
		for i := C.size_t(0); i < n; i++ {
			o := C.svcc_trace_get(t, i)
			out = append(out, Outcome{Verdict: Verdict(o.verdict), Share: float64(o.share),
				Addr: goString(o.addr), Port: uint16(o.port), Masquerade: o.masquerade != 0,
				Local: o.local != 0, Path: goString(o.path)})
		}
		return nil
	})
	return out, err
}
