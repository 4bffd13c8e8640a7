package svcc

// #include <stdlib.h>
// #include "helpers.h"
import "C"

import (
	"fmt"
	"runtime"
	"sync"
	"syscall"
	"unsafe"
)

// Config is a configuration: cluster settings and services, parsed from
// .svc text, imported, or built in code.  Close frees its C memory (else
// a finalizer does).
type Config struct {
	mu  sync.Mutex
	c   *C.struct_svcc_config
	ctx *C.struct_svcc_ctx // parsed or imported: the sources its locations point into
	// diagnostics of the parse or import that made it (its warnings)
	diags []Diag
}

func newConfig(c *C.struct_svcc_config, ctx *C.struct_svcc_ctx) *Config {
	cfg := &Config{c: c, ctx: ctx, diags: diags(ctx)}
	runtime.SetFinalizer(cfg, (*Config).Close)
	return cfg
}

// NewConfig returns an empty config (nil only when out of memory).
func NewConfig() *Config {
	c := C.svcc_config_new()
	if c == nil {
		return nil
	}
	return newConfig(c, nil)
}

// ParseFile parses a .svc file.  Every syntax error is in the *Error's Diags.
func ParseFile(path string) (*Config, error) {
	cpath, err := cString("ParseFile", path, false)
	if err != nil {
		return nil, err
	}
	defer C.free(unsafe.Pointer(cpath))
	return parse("ParseFile "+path, func(ctx *C.struct_svcc_ctx, out **C.struct_svcc_config) (C.int, error) {
		rc, err := C.svcc_parse_file(ctx, cpath, out)
		return rc, err
	})
}

// ParseString parses .svc text; name is what diagnostics call it.
func ParseString(name, text string) (*Config, error) {
	cname, err := cString("ParseString", name, false)
	if err != nil {
		return nil, err
	}
	defer C.free(unsafe.Pointer(cname))
	ctext := C.CString(text) // a NUL in text is the parser's to report: len says how long
	defer C.free(unsafe.Pointer(ctext))
	return parse("ParseString "+name, func(ctx *C.struct_svcc_ctx, out **C.struct_svcc_config) (C.int, error) {
		rc, err := C.svcc_parse_string(ctx, cname, ctext, C.size_t(len(text)), out)
		return rc, err
	})
}

// parse: a fresh context, kept with the config (its locations point into it).
func parse(op string, call func(*C.struct_svcc_ctx, **C.struct_svcc_config) (C.int, error)) (*Config, error) {
	ctx, err := C.svcc_ctx_new()
	if ctx == nil {
		return nil, newError(op, err, nil)
	}
	var out *C.struct_svcc_config
	if rc, err := call(ctx, &out); rc != 0 {
		e := newError(op, err, ctx)
		C.svcc_ctx_free(ctx)
		return nil, e
	}
	return newConfig(out, ctx), nil
}

// Close frees the config.  Its Services are then unusable.  Safe to call twice.
func (c *Config) Close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	C.svcc_config_free(c.c)
	C.svcc_ctx_free(c.ctx)
	c.c, c.ctx = nil, nil
}

// Diags are the warnings of the parse or import that made the config.
func (c *Config) Diags() []Diag { return c.diags }

// Text is the config as canonical .svc text (svcc_config_write, what svcc
// fmt prints).  EINVAL when it holds what the language cannot say.
func (c *Config) Text() (string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.c == nil {
		return "", errClosed("Config.Text")
	}
	return capture("Config.Text", func(f *C.FILE) (C.int, error) {
		rc, err := C.svcc_config_write(c.c, f)
		return rc, err
	})
}

// String is Text, or "" when the config cannot be written.
func (c *Config) String() string {
	s, _ := c.Text()
	return s
}

// call runs fn on the open config, locked; EBADF once closed.
func (c *Config) call(op string, fn func(*C.struct_svcc_config) (C.int, error)) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.c == nil {
		return errClosed(op)
	}
	if rc, err := fn(c.c); rc != 0 {
		return newError(op, err, nil)
	}
	return nil
}

// with runs fn on the open config, locked; its error passed through.
func (c *Config) with(op string, fn func(*C.struct_svcc_config) error) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.c == nil {
		return errClosed(op)
	}
	return fn(c.c)
}

// callString: call with s as a C string ("" as NULL when optional).
func (c *Config) callString(op, s string, optional bool,
	fn func(*C.struct_svcc_config, *C.char) (C.int, error)) error {
	cs, err := cString(op, s, optional)
	if err != nil {
		return err
	}
	defer C.free(unsafe.Pointer(cs))
	return c.call(fmt.Sprintf("%s %q", op, s), func(cfg *C.struct_svcc_config) (C.int, error) {
		return fn(cfg, cs)
	})
}

// ---- cluster settings -------------------------------------------------

func (c *Config) AddPodCIDR(cidr string) error {
	return c.callString("AddPodCIDR", cidr, false, func(cfg *C.struct_svcc_config, s *C.char) (C.int, error) {
		rc, err := C.svcc_config_add_pod_cidr(cfg, s)
		return rc, err
	})
}

func (c *Config) AddServiceCIDR(cidr string) error {
	return c.callString("AddServiceCIDR", cidr, false, func(cfg *C.struct_svcc_config, s *C.char) (C.int, error) {
		rc, err := C.svcc_config_add_service_cidr(cfg, s)
		return rc, err
	})
}

func (c *Config) AddNodeIP(addr string) error {
	return c.callString("AddNodeIP", addr, false, func(cfg *C.struct_svcc_config, s *C.char) (C.int, error) {
		rc, err := C.svcc_config_add_node_ip(cfg, s)
		return rc, err
	})
}

// AddNodePodCIDR: cluster { node-pod-cidr }: pods told by this node's own CIDRs.
func (c *Config) AddNodePodCIDR(cidr string) error {
	return c.callString("AddNodePodCIDR", cidr, false, func(cfg *C.struct_svcc_config, s *C.char) (C.int, error) {
		rc, err := C.svcc_config_add_node_pod_cidr(cfg, s)
		return rc, err
	})
}

// SetPodBridge: pods told by the bridge they come in by; "" clears.
func (c *Config) SetPodBridge(ifname string) error {
	return c.callString("SetPodBridge", ifname, true, func(cfg *C.struct_svcc_config, s *C.char) (C.int, error) {
		rc, err := C.svcc_config_set_pod_bridge(cfg, s)
		return rc, err
	})
}

// SetPodInterfacePrefix: pods told by their interfaces' prefix; "" clears.
func (c *Config) SetPodInterfacePrefix(prefix string) error {
	return c.callString("SetPodInterfacePrefix", prefix, true, func(cfg *C.struct_svcc_config, s *C.char) (C.int, error) {
		rc, err := C.svcc_config_set_pod_interface_prefix(cfg, s)
		return rc, err
	})
}

// SetZone: this node's zone, for topology; "" clears.
func (c *Config) SetZone(zone string) error {
	return c.callString("SetZone", zone, true, func(cfg *C.struct_svcc_config, s *C.char) (C.int, error) {
		rc, err := C.svcc_config_set_zone(cfg, s)
		return rc, err
	})
}

// SetNodeName: this node's name, for topology; "" clears.
func (c *Config) SetNodeName(name string) error {
	return c.callString("SetNodeName", name, true, func(cfg *C.struct_svcc_config, s *C.char) (C.int, error) {
		rc, err := C.svcc_config_set_node_name(cfg, s)
		return rc, err
	})
}

// Masquerade policy flags.
type Masquerade uint

const (
	MasqueradeNonPod Masquerade = C.SVCC_MASQ_NON_POD // sources outside every pod-cidr (the default)
	MasqueradeAll    Masquerade = C.SVCC_MASQ_ALL     // every connection to a service
)

func (c *Config) SetMasquerade(flags Masquerade) error {
	return c.call(fmt.Sprintf("SetMasquerade %#x", uint(flags)), func(cfg *C.struct_svcc_config) (C.int, error) {
		rc, err := C.svcc_config_set_masquerade(cfg, C.uint(flags))
		return rc, err
	})
}

func (c *Config) AddMasqueradeFrom(cidr string) error {
	return c.callString("AddMasqueradeFrom", cidr, false, func(cfg *C.struct_svcc_config, s *C.char) (C.int, error) {
		rc, err := C.svcc_config_add_masquerade_from(cfg, s)
		return rc, err
	})
}

// CIDRList names one of the config's lists of prefixes and addresses.
type CIDRList int

const (
	PodCIDRs       CIDRList = C.SVCC_POD_CIDRS
	ServiceCIDRs   CIDRList = C.SVCC_SERVICE_CIDRS
	NodeIPs        CIDRList = C.SVCC_NODE_IPS
	NodePodCIDRs   CIDRList = C.SVCC_NODE_POD_CIDRS
	MasqueradeFrom CIDRList = C.SVCC_MASQUERADE_FROM
)

// get runs fn on the open config, locked; false once closed.
func (c *Config) get(fn func(*C.struct_svcc_config)) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.c == nil {
		return false
	}
	fn(c.c)
	return true
}

// CIDRs is one of the config's lists, in order ("ADDR/LEN", node IPs plain).
func (c *Config) CIDRs(which CIDRList) []string {
	var out []string
	c.get(func(cfg *C.struct_svcc_config) {
		var buf [C.SVCC_ADDR_TEXT_MAX]C.char
		n := C.svcc_config_cidr_count(cfg, C.enum_svcc_cidr_list(which))
		for i := C.size_t(0); i < n; i++ {
			if s := C.svcc_config_cidr(cfg, C.enum_svcc_cidr_list(which), i, &buf[0]); s != nil {
				out = append(out, C.GoString(s))
			}
		}
	})
	return out
}

func (c *Config) Masquerade() Masquerade {
	var m Masquerade
	c.get(func(cfg *C.struct_svcc_config) { m = Masquerade(C.svcc_config_masquerade(cfg)) })
	return m
}

func (c *Config) getString(fn func(*C.struct_svcc_config) *C.char) string {
	var s string
	c.get(func(cfg *C.struct_svcc_config) { s = goString(fn(cfg)) })
	return s
}

func (c *Config) PodBridge() string {
	return c.getString(func(cfg *C.struct_svcc_config) *C.char { return C.svcc_config_pod_bridge(cfg) })
}

func (c *Config) PodInterfacePrefix() string {
	return c.getString(func(cfg *C.struct_svcc_config) *C.char { return C.svcc_config_pod_interface_prefix(cfg) })
}

func (c *Config) Zone() string {
	return c.getString(func(cfg *C.struct_svcc_config) *C.char { return C.svcc_config_zone(cfg) })
}

func (c *Config) NodeName() string {
	return c.getString(func(cfg *C.struct_svcc_config) *C.char { return C.svcc_config_node_name(cfg) })
}

// ---- services ----------------------------------------------------------

// AddService adds an empty service ("namespace/name" or "name"); EEXIST if taken.
func (c *Config) AddService(name string) (*Service, error) {
	var canon string
	err := c.callString("AddService", name, false, func(cfg *C.struct_svcc_config, s *C.char) (C.int, error) {
		var svc *C.struct_svcc_service
		rc, err := C.svcc_config_add_service(cfg, s, &svc)
		if rc == 0 {
			canon = C.GoString(C.svcc_service_name(svc))
		}
		return rc, err
	})
	if err != nil {
		return nil, err
	}
	return &Service{cfg: c, name: canon}, nil
}

// Service finds a service by name, or nil.
func (c *Config) Service(name string) *Service {
	cname, err := cString("Service", name, false)
	if err != nil {
		return nil
	}
	defer C.free(unsafe.Pointer(cname))
	var svc *Service
	c.get(func(cfg *C.struct_svcc_config) {
		if p := C.svcc_config_find_service(cfg, cname); p != nil {
			svc = &Service{cfg: c, name: C.GoString(C.svcc_service_name(p))}
		}
	})
	return svc
}

func (c *Config) RemoveService(name string) error {
	return c.callString("RemoveService", name, false, func(cfg *C.struct_svcc_config, s *C.char) (C.int, error) {
		rc, err := C.svcc_config_remove_service(cfg, s)
		return rc, err
	})
}

func (c *Config) ServiceCount() int {
	n := 0
	c.get(func(cfg *C.struct_svcc_config) { n = int(C.svcc_config_service_count(cfg)) })
	return n
}

// Services in the order they were added or parsed.
func (c *Config) Services() []*Service {
	var out []*Service
	c.get(func(cfg *C.struct_svcc_config) {
		n := C.svcc_config_service_count(cfg)
		for i := C.size_t(0); i < n; i++ {
			name := C.GoString(C.svcc_service_name(C.svcc_config_service_at(cfg, i)))
			out = append(out, &Service{cfg: c, name: name})
		}
	})
	return out
}

// EndpointCount: the endpoints of all the services.
func (c *Config) EndpointCount() int {
	n := 0
	c.get(func(cfg *C.struct_svcc_config) { n = int(C.svcc_config_endpoint_count(cfg)) })
	return n
}

// HealthCheck is a service's health-check NodePort and its local ready endpoints.
type HealthCheck struct {
	Service        string
	Port           uint16
	LocalEndpoints int
}

// HealthChecks: each service with a health-check NodePort, in order.
func (c *Config) HealthChecks() []HealthCheck {
	var out []HealthCheck
	c.get(func(cfg *C.struct_svcc_config) {
		n := C.svcc_config_service_count(cfg)
		for i := C.size_t(0); i < n; i++ {
			svc := C.svcc_config_service_at(cfg, i)
			if port := C.svcc_service_health_check_nodeport(svc); port != 0 {
				out = append(out, HealthCheck{C.GoString(C.svcc_service_name(svc)), uint16(port),
					int(C.svcc_service_local_endpoints(svc))})
			}
		}
	})
	return out
}

// lockBoth locks two mutexes in address order, so that calls on (a, b) and
// (b, a) at once cannot deadlock; it returns the unlock.
func lockBoth(a, b *sync.Mutex) func() {
	if a == b {
		a.Lock()
		return a.Unlock
	}
	if uintptr(unsafe.Pointer(a)) > uintptr(unsafe.Pointer(b)) {
		a, b = b, a
	}
	a.Lock()
	b.Lock()
	return func() {
		b.Unlock()
		a.Unlock()
	}
}

// AddFrom copies src's services and cluster settings into c (a config in
// parts); EEXIST for a service c has already, EINVAL for a setting both
// set differently; nothing changed on error.  src must stay open while
// c's diagnostics may name its locations.
func (c *Config) AddFrom(src *Config) error {
	if src == c {
		return &Error{Op: "AddFrom", Err: syscall.EINVAL}
	}
	defer lockBoth(&c.mu, &src.mu)()
	if c.c == nil || src.c == nil {
		return errClosed("AddFrom")
	}
	if rc, err := C.svcc_config_add_from(c.c, src.c); rc != 0 {
		return newError("AddFrom", err, nil)
	}
	return nil
}

// SameCluster: a and b have the same cluster and masquerade settings.
func SameCluster(a, b *Config) bool {
	defer lockBoth(&a.mu, &b.mu)()
	return a.c != nil && b.c != nil && C.svcc_config_same_cluster(a.c, b.c) != 0
}

// ChangedServices: the services that differ between old (nil: none) and
// new: new's added or changed ones in its order, then old's removed ones;
// what Runtime.Update takes.
func ChangedServices(old, new *Config) ([]string, error) {
	oldmu := &new.mu
	if old != nil {
		oldmu = &old.mu
	}
	defer lockBoth(oldmu, &new.mu)()
	var oldc *C.struct_svcc_config
	if old != nil {
		if oldc = old.c; oldc == nil {
			return nil, errClosed("ChangedServices")
		}
	}
	if new.c == nil {
		return nil, errClosed("ChangedServices")
	}
	var ns C.struct_gosvcc_names
	if rc := C.gosvcc_changed_services(oldc, new.c, &ns); rc != 0 {
		return nil, &Error{Op: "ChangedServices", Err: syscall.Errno(rc)}
	}
	defer C.gosvcc_names_free(&ns)
	var names []string
	for _, s := range unsafe.Slice(ns.v, int(ns.n)) {
		names = append(names, C.GoString(s))
	}
	return names, nil
}
