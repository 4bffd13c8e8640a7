package svcc

// #include <stdlib.h>
// #include <svcc.h>
import "C"

import (
	"fmt"
	"syscall"
	"unsafe"
)

// Service is one service of a Config, by name: every call finds it afresh,
// so a Service never dangles (ENOENT once removed, EBADF once the config is
// closed).  Setters check as the language does: bad input fails with
// syscall.EINVAL and changes nothing.
type Service struct {
	cfg  *Config
	name string
}

// Name is the service's name as the config holds it ("namespace/name").
func (s *Service) Name() string { return s.name }

// Config is the config the service belongs to.
func (s *Service) Config() *Config { return s.cfg }

// call runs fn on the service, its config locked.
func (s *Service) call(op string, fn func(*C.struct_svcc_service) (C.int, error)) error {
	op = s.name + ": " + op
	return s.cfg.call(op, func(cfg *C.struct_svcc_config) (C.int, error) {
		svc, err := s.find(cfg)
		if svc == nil {
			return -1, err
		}
		return fn(svc)
	})
}

func (s *Service) find(cfg *C.struct_svcc_config) (*C.struct_svcc_service, error) {
	cname := C.CString(s.name)
	defer C.free(unsafe.Pointer(cname))
	if svc := C.svcc_config_find_service(cfg, cname); svc != nil {
		return svc, nil
	}
	return nil, syscall.ENOENT
}

// get runs fn on the service; false when it is gone.
func (s *Service) get(fn func(*C.struct_svcc_service)) bool {
	found := false
	s.cfg.get(func(cfg *C.struct_svcc_config) {
		if svc, _ := s.find(cfg); svc != nil {
			fn(svc)
			found = true
		}
	})
	return found
}

func (s *Service) callString(op, arg string, optional bool,
	fn func(*C.struct_svcc_service, *C.char) (C.int, error)) error {
	cs, err := cString(op, arg, optional)
	if err != nil {
		return err
	}
	defer C.free(unsafe.Pointer(cs))
	return s.call(fmt.Sprintf("%s %q", op, arg), func(svc *C.struct_svcc_service) (C.int, error) {
		return fn(svc, cs)
	})
}

// SetVIP sets the vip of that address's family (one IPv4 and one IPv6 vip: dual-stack).
func (s *Service) SetVIP(addr string) error {
	return s.callString("SetVIP", addr, false, func(svc *C.struct_svcc_service, a *C.char) (C.int, error) {
		rc, err := C.svcc_service_set_vip(svc, a)
		return rc, err
	})
}

// VIP is the vip of family 4 or 6, or "".
func (s *Service) VIP(family int) string {
	var out string
	s.get(func(svc *C.struct_svcc_service) {
		var buf [C.SVCC_ADDR_TEXT_MAX]C.char
		out = goString(C.svcc_service_vip(svc, C.int(family), &buf[0]))
	})
	return out
}

// VIPs: the IPv4 vip, then the IPv6 one, those it has.
func (s *Service) VIPs() []string {
	var out []string
	for _, f := range []int{4, 6} {
		if v := s.VIP(f); v != "" {
			out = append(out, v)
		}
	}
	return out
}

// Proto is a port's transport protocol.
type Proto int

const (
	TCP  Proto = C.SVCC_TCP
	UDP  Proto = C.SVCC_UDP
	SCTP Proto = C.SVCC_SCTP
)

func (p Proto) String() string {
	switch p {
	case TCP:
		return "tcp"
	case UDP:
		return "udp"
	case SCTP:
		return "sctp"
	}
	return fmt.Sprintf("proto(%d)", int(p))
}

// Port is one port of a service: `port NAME PORT/PROTO -> TARGET nodeport N`.
type Port struct {
	Name       string // optional
	Port       uint16 // the service port, 1..65535
	Proto      Proto
	TargetPort uint16 // 0: the same as Port
	TargetName string // the endpoints' named port (port ... -> NAME); TargetPort 0
	NodePort   uint16 // 0: none
}

// Ports as SetPorts takes them (TargetPort the port's own when none was given).
func (s *Service) Ports() []Port {
	var out []Port
	s.get(func(svc *C.struct_svcc_service) { out = portsOf(svc) })
	return out
}

func portsOf(svc *C.struct_svcc_service) []Port {
	var out []Port
	n := C.svcc_service_port_count(svc)
	for i := C.size_t(0); i < n; i++ {
		var p C.struct_svcc_port
		if C.svcc_service_port(svc, i, &p) != 0 {
			continue
		}
		out = append(out, Port{
			Name:       goString(p.name),
			Port:       uint16(p.port),
			Proto:      Proto(p.proto),
			TargetPort: uint16(p.target_port),
			TargetName: goString(C.svcc_service_port_target_name(svc, i)),
			NodePort:   uint16(C.svcc_service_port_nodeport(svc, i)),
		})
	}
	return out
}

// SetPorts replaces the service's ports with these (with their NodePorts
// and named targets); on error the ports are as they were.
func (s *Service) SetPorts(ports []Port) error {
	return s.call("SetPorts", func(svc *C.struct_svcc_service) (C.int, error) {
		old := portsOf(svc)
		rc, err := setPorts(svc, ports)
		if rc != 0 {
			setPorts(svc, old) // what was valid once is valid again
		}
		return rc, err
	})
}

func setPorts(svc *C.struct_svcc_service, ports []Port) (C.int, error) {
	cports := make([]C.struct_svcc_port, len(ports)+1) // +1: &cports[0] even for none
	names := make([]*C.char, 0, len(ports))
	defer func() {
		for _, n := range names {
			C.free(unsafe.Pointer(n))
		}
	}()
	for i, p := range ports {
		name, err := cString("SetPorts", p.Name, true)
		if err != nil {
			return -1, syscall.EINVAL
		}
		names = append(names, name)
		cports[i] = C.struct_svcc_port{name: name, port: C.uint16_t(p.Port),
			proto: C.enum_svcc_proto(p.Proto), target_port: C.uint16_t(p.TargetPort)}
	}
	if rc, err := C.svcc_service_set_ports(svc, &cports[0], C.size_t(len(ports))); rc != 0 {
		return rc, err
	}
	for i, p := range ports {
		if p.NodePort != 0 {
			if rc, err := C.svcc_service_set_port_nodeport(svc, C.size_t(i), C.uint(p.NodePort)); rc != 0 {
				return rc, err
			}
		}
		if p.TargetName != "" {
			tn, err := cString("SetPorts", p.TargetName, false)
			if err != nil {
				return -1, syscall.EINVAL
			}
			names = append(names, tn)
			if rc, err := C.svcc_service_set_port_target_name(svc, C.size_t(i), tn); rc != 0 {
				return rc, err
			}
		}
	}
	return 0, nil
}

// SetPortNodePort sets port i's NodePort (0: none).
func (s *Service) SetPortNodePort(i int, nodeport uint16) error {
	if i < 0 {
		return &Error{Op: s.name + ": SetPortNodePort", Err: syscall.EINVAL}
	}
	return s.call(fmt.Sprintf("SetPortNodePort %d %d", i, nodeport), func(svc *C.struct_svcc_service) (C.int, error) {
		rc, err := C.svcc_service_set_port_nodeport(svc, C.size_t(i), C.uint(nodeport))
		return rc, err
	})
}

// SetPortTargetName makes port i target the endpoints' port named name.
func (s *Service) SetPortTargetName(i int, name string) error {
	if i < 0 {
		return &Error{Op: s.name + ": SetPortTargetName", Err: syscall.EINVAL}
	}
	return s.callString(fmt.Sprintf("SetPortTargetName %d", i), name, false,
		func(svc *C.struct_svcc_service, n *C.char) (C.int, error) {
			rc, err := C.svcc_service_set_port_target_name(svc, C.size_t(i), n)
			return rc, err
		})
}

// AddrList names one of a service's lists of addresses.
type AddrList int

const (
	ExternalIPs        AddrList = C.SVCC_EXTERNAL_IPS         // external-ip ADDR
	LoadBalancers      AddrList = C.SVCC_LOAD_BALANCERS       // load-balancer ADDR
	ProxyLoadBalancers AddrList = C.SVCC_PROXY_LOAD_BALANCERS // load-balancer ADDR proxy
	SourceRanges       AddrList = C.SVCC_SOURCE_RANGES        // source-ranges CIDR, ...
)

// SetAddrs replaces one of the service's lists of addresses.
func (s *Service) SetAddrs(which AddrList, addrs []string) error {
	op := fmt.Sprintf("SetAddrs %d %q", int(which), addrs)
	arr, err := cStrings(op, addrs)
	if err != nil {
		return err
	}
	defer freeCStrings(arr, len(addrs))
	return s.call(op, func(svc *C.struct_svcc_service) (C.int, error) {
		rc, err := C.svcc_service_set_addrs(svc, C.enum_svcc_addr_list(which), arr, C.size_t(len(addrs)))
		return rc, err
	})
}

// Addrs is one of the service's lists of addresses, in order.
func (s *Service) Addrs(which AddrList) []string {
	var out []string
	s.get(func(svc *C.struct_svcc_service) {
		var buf [C.SVCC_ADDR_TEXT_MAX]C.char
		n := C.svcc_service_addr_count(svc, C.enum_svcc_addr_list(which))
		for i := C.size_t(0); i < n; i++ {
			if a := C.svcc_service_addr(svc, C.enum_svcc_addr_list(which), i, &buf[0]); a != nil {
				out = append(out, C.GoString(a))
			}
		}
	})
	return out
}

// AffinityTimeoutDefault is Kubernetes' session affinity timeout, in seconds.
const AffinityTimeoutDefault = C.SVCC_AFFINITY_TIMEOUT_DEFAULT

// SetAffinity: affinity client-ip timeout SECONDS (1..86400); 0: none.
func (s *Service) SetAffinity(timeout uint) error {
	return s.call(fmt.Sprintf("SetAffinity %d", timeout), func(svc *C.struct_svcc_service) (C.int, error) {
		if timeout > 1<<31 {
			return -1, syscall.EINVAL
		}
		rc, err := C.svcc_service_set_affinity(svc, C.uint(timeout))
		return rc, err
	})
}

// Affinity is the affinity timeout in seconds; 0: none.
func (s *Service) Affinity() uint {
	var t uint
	s.get(func(svc *C.struct_svcc_service) { t = uint(C.svcc_service_affinity(svc)) })
	return t
}

// Policy flags: traffic-policy external|internal local (unset: cluster).
type Policy uint

const (
	ExternalLocal Policy = C.SVCC_POLICY_EXTERNAL_LOCAL
	InternalLocal Policy = C.SVCC_POLICY_INTERNAL_LOCAL
)

// SetTrafficPolicy: traffic-policy external|internal local (flags unset: cluster).
func (s *Service) SetTrafficPolicy(p Policy) error {
	return s.call(fmt.Sprintf("SetTrafficPolicy %#x", uint(p)), func(svc *C.struct_svcc_service) (C.int, error) {
		rc, err := C.svcc_service_set_traffic_policy(svc, C.uint(p))
		return rc, err
	})
}

// TrafficPolicy is the service's traffic policy flags.
func (s *Service) TrafficPolicy() Policy {
	var p Policy
	s.get(func(svc *C.struct_svcc_service) { p = Policy(C.svcc_service_traffic_policy(svc)) })
	return p
}

// Distribution is traffic-distribution.
type Distribution int

const (
	DistNone           Distribution = C.SVCC_DIST_NONE
	DistPreferSameZone Distribution = C.SVCC_DIST_PREFER_SAME_ZONE // also prefer-close
	DistPreferSameNode Distribution = C.SVCC_DIST_PREFER_SAME_NODE
)

// SetTrafficDistribution: traffic-distribution.
func (s *Service) SetTrafficDistribution(d Distribution) error {
	return s.call(fmt.Sprintf("SetTrafficDistribution %d", int(d)), func(svc *C.struct_svcc_service) (C.int, error) {
		rc, err := C.svcc_service_set_traffic_distribution(svc, C.enum_svcc_distribution(d))
		return rc, err
	})
}

// TrafficDistribution is the service's traffic-distribution.
func (s *Service) TrafficDistribution() Distribution {
	var d Distribution
	s.get(func(svc *C.struct_svcc_service) { d = Distribution(C.svcc_service_traffic_distribution(svc)) })
	return d
}

// SetHealthCheckNodePort: the node port where the node's agent answers load
// balancers' health checks (traffic-policy external local); 0: none.
func (s *Service) SetHealthCheckNodePort(port uint16) error {
	return s.call(fmt.Sprintf("SetHealthCheckNodePort %d", port), func(svc *C.struct_svcc_service) (C.int, error) {
		rc, err := C.svcc_service_set_health_check_nodeport(svc, C.uint(port))
		return rc, err
	})
}

// HealthCheckNodePort is the health-check NodePort, 0: none.
func (s *Service) HealthCheckNodePort() uint16 {
	var p uint16
	s.get(func(svc *C.struct_svcc_service) { p = uint16(C.svcc_service_health_check_nodeport(svc)) })
	return p
}

// LocalEndpoints: how many of the endpoints are local and ready.
func (s *Service) LocalEndpoints() int {
	n := 0
	s.get(func(svc *C.struct_svcc_service) { n = int(C.svcc_service_local_endpoints(svc)) })
	return n
}
