package svcc

// #include <stdlib.h>
// #include "helpers.h"
import "C"

import "fmt"

// The cluster and masquerade blocks: setters (EINVAL on bad input, nothing
// changed) and getters.

// AddPodCIDR: cluster { pod-cidr CIDR; }.
func (c *Config) AddPodCIDR(cidr string) error {
	return c.callString("AddPodCIDR", cidr, false, func(cfg *C.struct_svcc_config, s *C.char) (C.int, error) {
		rc, err := C.svcc_config_add_pod_cidr(cfg, s)
		return rc, err
	})
}

// AddServiceCIDR: cluster { service-cidr CIDR; }.
func (c *Config) AddServiceCIDR(cidr string) error {
	return c.callString("AddServiceCIDR", cidr, false, func(cfg *C.struct_svcc_config, s *C.char) (C.int, error) {
		rc, err := C.svcc_config_add_service_cidr(cfg, s)
		return rc, err
	})
}

// AddNodeIP: cluster { node-ip ADDR; }: where NodePorts answer.
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

// SetMasquerade: the masquerade policy.
func (c *Config) SetMasquerade(flags Masquerade) error {
	return c.call(fmt.Sprintf("SetMasquerade %#x", uint(flags)), func(cfg *C.struct_svcc_config) (C.int, error) {
		rc, err := C.svcc_config_set_masquerade(cfg, C.uint(flags))
		return rc, err
	})
}

// AddMasqueradeFrom: masquerade { from CIDR; }.
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

// Masquerade is the masquerade policy.
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

// PodBridge is cluster { pod-bridge }, or "".
func (c *Config) PodBridge() string {
	return c.getString(func(cfg *C.struct_svcc_config) *C.char { return C.svcc_config_pod_bridge(cfg) })
}

// PodInterfacePrefix is cluster { pod-interface-prefix }, or "".
func (c *Config) PodInterfacePrefix() string {
	return c.getString(func(cfg *C.struct_svcc_config) *C.char { return C.svcc_config_pod_interface_prefix(cfg) })
}

// Zone is cluster { zone }, or "".
func (c *Config) Zone() string {
	return c.getString(func(cfg *C.struct_svcc_config) *C.char { return C.svcc_config_zone(cfg) })
}

// NodeName is cluster { node-name }, or "".
func (c *Config) NodeName() string {
	return c.getString(func(cfg *C.struct_svcc_config) *C.char { return C.svcc_config_node_name(cfg) })
}
