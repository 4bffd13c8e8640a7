package svcc

// #include <stdlib.h>
// #include <svcc.h>
import "C"

import (
	"fmt"
	"syscall"
	"unsafe"
)

// MaxWeight is the largest endpoint weight.
const MaxWeight = C.SVCC_MAX_WEIGHT

// Endpoint is one endpoint of a service, with its conditions and topology.
type Endpoint struct {
	Addr        string
	Local       bool // on this node
	Terminating bool // used only when no ready endpoint remains
	Weight      uint // 0 or 1: an equal share; N: N shares (read back: at least 1)
	Ports       []EndpointPort
	Zone, Node  string
	HintZones   []string // EndpointSlice hints
	HintNodes   []string
}

// EndpointPort is an endpoint's number for the service port named Name
// (for ports that target a name: Port.TargetName).
type EndpointPort struct {
	Name string
	Port uint16
}

// Hint kinds.
type hintKind = C.enum_svcc_hint

// Endpoints as SetEndpoints takes them.
func (s *Service) Endpoints() []Endpoint {
	var out []Endpoint
	s.get(func(svc *C.struct_svcc_service) { out = endpointsOf(svc) })
	return out
}

func endpointsOf(svc *C.struct_svcc_service) []Endpoint {
	var out []Endpoint
	var buf [C.SVCC_ADDR_TEXT_MAX]C.char
	n := C.svcc_service_endpoint_count(svc)
	for i := C.size_t(0); i < n; i++ {
		var e C.struct_svcc_endpoint
		if C.svcc_service_endpoint(svc, i, &e, &buf[0]) != 0 {
			continue
		}
		ep := Endpoint{
			Addr:        C.GoString(e.addr),
			Local:       e.flags&C.SVCC_EP_LOCAL != 0,
			Terminating: e.flags&C.SVCC_EP_TERMINATING != 0,
			Weight:      uint(e.weight),
			Zone:        goString(C.svcc_service_endpoint_zone(svc, i)),
			Node:        goString(C.svcc_service_endpoint_node(svc, i)),
			HintZones:   hints(svc, i, C.SVCC_HINT_ZONE),
			HintNodes:   hints(svc, i, C.SVCC_HINT_NODE),
		}
		np := C.svcc_service_endpoint_port_count(svc, i)
		for j := C.size_t(0); j < np; j++ {
			var port C.uint
			name := C.svcc_service_endpoint_port(svc, i, j, &port)
			ep.Ports = append(ep.Ports, EndpointPort{goString(name), uint16(port)})
		}
		out = append(out, ep)
	}
	return out
}

func hints(svc *C.struct_svcc_service, i C.size_t, kind hintKind) []string {
	var out []string
	n := C.svcc_service_endpoint_hint_count(svc, i, kind)
	for j := C.size_t(0); j < n; j++ {
		out = append(out, goString(C.svcc_service_endpoint_hint(svc, i, kind, j)))
	}
	return out
}

// SetEndpoints replaces the service's endpoints with these (with their
// ports, zone, node and hints); on error they are as they were.
func (s *Service) SetEndpoints(eps []Endpoint) error {
	return s.call("SetEndpoints", func(svc *C.struct_svcc_service) (C.int, error) {
		old := endpointsOf(svc)
		rc, err := setEndpoints(svc, eps)
		if rc != 0 {
			setEndpoints(svc, old)
		}
		return rc, err
	})
}

// cstrs: C strings freed together.
type cstrs []*C.char

func (c *cstrs) add(s string, optional bool) (*C.char, error) {
	cs, err := cString("", s, optional)
	if err == nil && cs != nil {
		*c = append(*c, cs)
	}
	return cs, err
}

// free: a pointer receiver, so that `defer strs.free()` frees what was added after it.
func (c *cstrs) free() {
	for _, s := range *c {
		C.free(unsafe.Pointer(s))
	}
	*c = nil
}

func setEndpoints(svc *C.struct_svcc_service, eps []Endpoint) (C.int, error) {
	var strs cstrs
	defer strs.free()
	ceps := make([]C.struct_svcc_endpoint, len(eps)+1)
	for i, e := range eps {
		addr, err := strs.add(e.Addr, false)
		if err != nil {
			return -1, syscall.EINVAL
		}
		var flags C.uint
		if e.Local {
			flags |= C.SVCC_EP_LOCAL
		}
		if e.Terminating {
			flags |= C.SVCC_EP_TERMINATING
		}
		if e.Weight > 1<<31 {
			return -1, syscall.EINVAL
		}
		ceps[i] = C.struct_svcc_endpoint{addr: addr, flags: flags, weight: C.uint(e.Weight)}
	}
	if rc, err := C.svcc_service_set_endpoints(svc, &ceps[0], C.size_t(len(eps))); rc != 0 {
		return rc, err
	}
	for i, e := range eps {
		if rc, err := setEndpointAttrs(svc, C.size_t(i), e, &strs); rc != 0 {
			return rc, err
		}
	}
	return 0, nil
}

func setEndpointAttrs(svc *C.struct_svcc_service, i C.size_t, e Endpoint, strs *cstrs) (C.int, error) {
	for _, p := range e.Ports {
		name, err := strs.add(p.Name, false)
		if err != nil {
			return -1, syscall.EINVAL
		}
		if rc, err := C.svcc_service_add_endpoint_port(svc, i, name, C.uint(p.Port)); rc != 0 {
			return rc, err
		}
	}
	if e.Zone != "" {
		z, err := strs.add(e.Zone, false)
		if err != nil {
			return -1, syscall.EINVAL
		}
		if rc, err := C.svcc_service_set_endpoint_zone(svc, i, z); rc != 0 {
			return rc, err
		}
	}
	if e.Node != "" {
		n, err := strs.add(e.Node, false)
		if err != nil {
			return -1, syscall.EINVAL
		}
		if rc, err := C.svcc_service_set_endpoint_node(svc, i, n); rc != 0 {
			return rc, err
		}
	}
	for _, h := range []struct {
		kind  hintKind
		names []string
	}{{C.SVCC_HINT_ZONE, e.HintZones}, {C.SVCC_HINT_NODE, e.HintNodes}} {
		for _, name := range h.names {
			cn, err := strs.add(name, false)
			if err != nil {
				return -1, syscall.EINVAL
			}
			if rc, err := C.svcc_service_add_endpoint_hint(svc, i, h.kind, cn); rc != 0 {
				return rc, err
			}
		}
	}
	return 0, nil
}

// AddEndpointPort gives endpoint i's number for the service port named name.
func (s *Service) AddEndpointPort(i int, name string, port uint16) error {
	return s.endpointAttr(fmt.Sprintf("AddEndpointPort %d %q %d", i, name, port), i,
		Endpoint{Ports: []EndpointPort{{name, port}}})
}

// SetEndpointZone sets endpoint i's zone.
func (s *Service) SetEndpointZone(i int, zone string) error {
	if zone == "" { // clears
		return s.endpointClear("SetEndpointZone", i, func(svc *C.struct_svcc_service) (C.int, error) {
			rc, err := C.svcc_service_set_endpoint_zone(svc, C.size_t(i), nil)
			return rc, err
		})
	}
	return s.endpointAttr(fmt.Sprintf("SetEndpointZone %d %q", i, zone), i, Endpoint{Zone: zone})
}

// SetEndpointNode sets endpoint i's node.
func (s *Service) SetEndpointNode(i int, node string) error {
	if node == "" {
		return s.endpointClear("SetEndpointNode", i, func(svc *C.struct_svcc_service) (C.int, error) {
			rc, err := C.svcc_service_set_endpoint_node(svc, C.size_t(i), nil)
			return rc, err
		})
	}
	return s.endpointAttr(fmt.Sprintf("SetEndpointNode %d %q", i, node), i, Endpoint{Node: node})
}

// AddEndpointHintZone adds a zone hint to endpoint i.
func (s *Service) AddEndpointHintZone(i int, zone string) error {
	return s.endpointAttr(fmt.Sprintf("AddEndpointHintZone %d %q", i, zone), i, Endpoint{HintZones: []string{zone}})
}

// AddEndpointHintNode adds a node hint to endpoint i.
func (s *Service) AddEndpointHintNode(i int, node string) error {
	return s.endpointAttr(fmt.Sprintf("AddEndpointHintNode %d %q", i, node), i, Endpoint{HintNodes: []string{node}})
}

// endpointAttr sets the one attribute e has on endpoint i.
func (s *Service) endpointAttr(op string, i int, e Endpoint) error {
	return s.endpointClear(op, i, func(svc *C.struct_svcc_service) (C.int, error) {
		var strs cstrs
		defer strs.free()
		return setEndpointAttrs(svc, C.size_t(i), e, &strs)
	})
}

func (s *Service) endpointClear(op string, i int, fn func(*C.struct_svcc_service) (C.int, error)) error {
	if i < 0 {
		return &Error{Op: s.name + ": " + op, Err: syscall.ERANGE}
	}
	return s.call(op, fn)
}
