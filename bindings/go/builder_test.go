package svcc

import (
	"errors"
	"reflect"
	"syscall"
	"testing"
)

// rebuild reads src through the getters and builds it again through the
// builder only, as a Go agent would.
func rebuild(t *testing.T, src *Config) *Config {
	t.Helper()
	dst := NewConfig()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	adders := map[CIDRList]func(string) error{
		PodCIDRs: dst.AddPodCIDR, ServiceCIDRs: dst.AddServiceCIDR, NodeIPs: dst.AddNodeIP,
		NodePodCIDRs: dst.AddNodePodCIDR, MasqueradeFrom: dst.AddMasqueradeFrom,
	}
	for _, l := range []CIDRList{PodCIDRs, ServiceCIDRs, NodeIPs, NodePodCIDRs, MasqueradeFrom} {
		for _, c := range src.CIDRs(l) {
			must(adders[l](c))
		}
	}
	must(dst.SetMasquerade(src.Masquerade()))
	must(dst.SetPodBridge(src.PodBridge()))
	must(dst.SetPodInterfacePrefix(src.PodInterfacePrefix()))
	must(dst.SetZone(src.Zone()))
	must(dst.SetNodeName(src.NodeName()))
	for _, from := range src.Services() {
		svc, err := dst.AddService(from.Name())
		must(err)
		for _, v := range from.VIPs() {
			must(svc.SetVIP(v))
		}
		must(svc.SetPorts(from.Ports()))
		for _, l := range []AddrList{ExternalIPs, LoadBalancers, ProxyLoadBalancers, SourceRanges} {
			must(svc.SetAddrs(l, from.Addrs(l)))
		}
		must(svc.SetAffinity(from.Affinity()))
		must(svc.SetTrafficPolicy(from.TrafficPolicy()))
		must(svc.SetTrafficDistribution(from.TrafficDistribution()))
		must(svc.SetHealthCheckNodePort(from.HealthCheckNodePort()))
		must(svc.SetEndpoints(from.Endpoints()))
	}
	return dst
}

// Every example and golden config, read back and rebuilt in Go, compiles to
// the same bytes and writes the same canonical text; and the files use
// every part of the Go types, so that a field left out cannot pass unseen.
func TestRebuild(t *testing.T) {
	seen := map[string]bool{}
	for _, f := range configs(t) {
		src, err := ParseFile(f)
		if err != nil {
			t.Fatal(err)
		}
		dst := rebuild(t, src)
		if got, want := compileText(t, dst), golden(t, f); got != want {
			t.Errorf("%s: rebuilt config compiles differently", f)
		}
		if a, b := src.String(), dst.String(); a != b || a == "" {
			t.Errorf("%s: rebuilt config writes differently:\n%s\n---\n%s", f, a, b)
		}
		note(seen, src)
		src.Close()
		dst.Close()
	}
	for _, what := range []string{"pod-cidr", "service-cidr", "node-ip", "node-pod-cidr",
		"masquerade-from", "masquerade", "pod-bridge", "pod-interface-prefix", "zone",
		"node-name", "vip6", "port name", "target port", "target name", "nodeport", "udp",
		"sctp", "addr list 0", "addr list 1", "addr list 2", "addr list 3", "affinity",
		"external local", "internal local", "prefer same zone", "prefer same node",
		"health check", "local", "terminating", "weight", "endpoint port", "endpoint zone",
		"endpoint node", "hint zone", "hint node"} {
		if !seen[what] {
			t.Errorf("no example or golden config has %s", what)
		}
	}
}

func note(seen map[string]bool, c *Config) {
	for l, name := range []string{"pod-cidr", "service-cidr", "node-ip", "node-pod-cidr", "masquerade-from"} {
		seen[name] = seen[name] || len(c.CIDRs(CIDRList(l))) > 0
	}
	seen["masquerade"] = seen["masquerade"] || c.Masquerade() != MasqueradeNonPod
	seen["pod-bridge"] = seen["pod-bridge"] || c.PodBridge() != ""
	seen["pod-interface-prefix"] = seen["pod-interface-prefix"] || c.PodInterfacePrefix() != ""
	seen["zone"] = seen["zone"] || c.Zone() != ""
	seen["node-name"] = seen["node-name"] || c.NodeName() != ""
	for _, s := range c.Services() {
		seen["vip6"] = seen["vip6"] || s.VIP(6) != ""
		for _, p := range s.Ports() {
			seen["port name"] = seen["port name"] || p.Name != ""
			seen["target port"] = seen["target port"] || (p.TargetPort != 0 && p.TargetPort != p.Port)
			seen["target name"] = seen["target name"] || p.TargetName != ""
			seen["nodeport"] = seen["nodeport"] || p.NodePort != 0
			seen["udp"] = seen["udp"] || p.Proto == UDP
			seen["sctp"] = seen["sctp"] || p.Proto == SCTP
		}
		for _, l := range []AddrList{ExternalIPs, LoadBalancers, ProxyLoadBalancers, SourceRanges} {
			k := "addr list " + string(rune('0'+int(l)))
			seen[k] = seen[k] || len(s.Addrs(l)) > 0
		}
		seen["affinity"] = seen["affinity"] || s.Affinity() != 0
		seen["external local"] = seen["external local"] || s.TrafficPolicy()&ExternalLocal != 0
		seen["internal local"] = seen["internal local"] || s.TrafficPolicy()&InternalLocal != 0
		seen["prefer same zone"] = seen["prefer same zone"] || s.TrafficDistribution() == DistPreferSameZone
		seen["prefer same node"] = seen["prefer same node"] || s.TrafficDistribution() == DistPreferSameNode
		seen["health check"] = seen["health check"] || s.HealthCheckNodePort() != 0
		for _, e := range s.Endpoints() {
			seen["local"] = seen["local"] || e.Local
			seen["terminating"] = seen["terminating"] || e.Terminating
			seen["weight"] = seen["weight"] || e.Weight > 1
			seen["endpoint port"] = seen["endpoint port"] || len(e.Ports) > 0
			seen["endpoint zone"] = seen["endpoint zone"] || e.Zone != ""
			seen["endpoint node"] = seen["endpoint node"] || e.Node != ""
			seen["hint zone"] = seen["hint zone"] || len(e.HintZones) > 0
			seen["hint node"] = seen["hint node"] || len(e.HintNodes) > 0
		}
	}
}

// A config built in Go compiles as its text does, and reads back as built.
func TestBuilderLikeText(t *testing.T) {
	text := `cluster {
    pod-cidr 10.244.0.0/16;
    node-ip 192.168.1.10;
    zone zone-a;
}
service default/web {
    vip 10.96.0.10;
    vip fd00::10;
    port http 80/tcp -> web;
    port dns 53/udp;
    nodeport http 30080;
    external-ip 192.168.1.100;
    affinity client-ip timeout 60;
    traffic-policy external local;
    endpoint 10.244.1.5 local weight 3 port http 8080 zone zone-a;
    endpoint 10.244.2.7 terminating port http 8081 hint-zone zone-a;
    endpoint fd00:244::5 port http 8080;
}
`
	want, err := ParseString("web.svc", text)
	if err != nil {
		t.Fatal(err)
	}
	defer want.Close()

	cfg := NewConfig()
	defer cfg.Close()
	for _, err := range []error{cfg.AddPodCIDR("10.244.0.0/16"), cfg.AddNodeIP("192.168.1.10"), cfg.SetZone("zone-a")} {
		if err != nil {
			t.Fatal(err)
		}
	}
	web, err := cfg.AddService("default/web")
	if err != nil {
		t.Fatal(err)
	}
	ports := []Port{{Name: "http", Port: 80, Proto: TCP, TargetName: "web", NodePort: 30080}, {Name: "dns", Port: 53, Proto: UDP, TargetPort: 53}}
	eps := []Endpoint{
		{Addr: "10.244.1.5", Local: true, Weight: 3, Ports: []EndpointPort{{"http", 8080}}, Zone: "zone-a"},
		{Addr: "10.244.2.7", Terminating: true, Weight: 1, Ports: []EndpointPort{{"http", 8081}}, HintZones: []string{"zone-a"}},
		{Addr: "fd00:244::5", Weight: 1, Ports: []EndpointPort{{"http", 8080}}},
	}
	for _, err := range []error{web.SetVIP("10.96.0.10"), web.SetVIP("fd00::10"), web.SetPorts(ports),
		web.SetAddrs(ExternalIPs, []string{"192.168.1.100"}), web.SetAffinity(60),
		web.SetTrafficPolicy(ExternalLocal), web.SetEndpoints(eps)} {
		if err != nil {
			t.Fatal(err)
		}
	}
	if a, b := compileText(t, cfg), compileText(t, want); a != b {
		t.Fatalf("built config compiles differently from its text:\n%s\n---\n%s", a, b)
	}
	if a, b := cfg.String(), want.String(); a != b {
		t.Fatalf("built config writes differently from its text:\n%s\n---\n%s", a, b)
	}
	if got := web.Ports(); !reflect.DeepEqual(got, ports) {
		t.Fatalf("Ports() = %+v, want %+v", got, ports)
	}
	if got := web.Endpoints(); !reflect.DeepEqual(got, eps) {
		t.Fatalf("Endpoints() = %+v, want %+v", got, eps)
	}
	if got := web.VIPs(); !reflect.DeepEqual(got, []string{"10.96.0.10", "fd00::10"}) {
		t.Fatalf("VIPs() = %v", got)
	}
	if web.LocalEndpoints() != 1 || cfg.EndpointCount() != 3 || cfg.ServiceCount() != 1 {
		t.Fatalf("LocalEndpoints %d, EndpointCount %d, ServiceCount %d", web.LocalEndpoints(),
			cfg.EndpointCount(), cfg.ServiceCount())
	}
}

// Bad input: EINVAL, and nothing changed, even when the bad part comes
// after good ones in one call.
func TestBuilderRefuses(t *testing.T) {
	cfg := NewConfig()
	defer cfg.Close()
	web, err := cfg.AddService("default/web")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cfg.AddService("default/web"); !errors.Is(err, syscall.EEXIST) {
		t.Fatalf("second AddService: %v, want EEXIST", err)
	}
	good := []Port{{Name: "http", Port: 80, Proto: TCP}}
	if err := web.SetPorts(good); err != nil {
		t.Fatal(err)
	}
	eps := []Endpoint{{Addr: "10.244.1.5", Weight: 1}}
	if err := web.SetEndpoints(eps); err != nil {
		t.Fatal(err)
	}
	for name, err := range map[string]error{
		"vip":                 web.SetVIP("10.96.0.300"),
		"loopback vip":        web.SetVIP("127.0.0.1"),
		"NUL in vip":          web.SetVIP("10.96.0.1\x00"),
		"pod-cidr":            cfg.AddPodCIDR("10.244.0.0/33"),
		"ports: target name":  web.SetPorts([]Port{{Name: "a", Port: 80, Proto: TCP}, {Name: "b", Port: 81, Proto: TCP, TargetName: "bad name"}}),
		"ports: port 0":       web.SetPorts([]Port{{Port: 0, Proto: TCP}}),
		"endpoints: zone":     web.SetEndpoints([]Endpoint{{Addr: "10.244.1.6"}, {Addr: "10.244.1.7", Zone: "bad zone!"}}),
		"endpoints: weight":   web.SetEndpoints([]Endpoint{{Addr: "10.244.1.6", Weight: MaxWeight + 1}}),
		"endpoints: address":  web.SetEndpoints([]Endpoint{{Addr: "10.244.1"}}),
		"addrs":               web.SetAddrs(SourceRanges, []string{"10.0.0.0/8", "nonsense"}),
		"affinity":            web.SetAffinity(86401),
		"endpoint zone index": web.SetEndpointZone(5, "zone-a"),
	} {
		var e *Error
		if !errors.As(err, &e) || !(errors.Is(err, syscall.EINVAL) || errors.Is(err, syscall.ERANGE)) {
			t.Errorf("%s: %v, want an *Error with EINVAL or ERANGE", name, err)
		}
	}
	if got := web.Ports(); !reflect.DeepEqual(got, []Port{{Name: "http", Port: 80, Proto: TCP, TargetPort: 80}}) {
		t.Errorf("ports changed by refused calls: %+v", got)
	}
	if got := web.Endpoints(); !reflect.DeepEqual(got, eps) {
		t.Errorf("endpoints changed by refused calls: %+v", got)
	}
	if web.VIP(4) != "" || len(cfg.CIDRs(PodCIDRs)) != 0 || len(web.Addrs(SourceRanges)) != 0 || web.Affinity() != 0 {
		t.Error("a refused call changed the config")
	}
	// the index setters, and a Service whose service is gone
	if err := web.SetEndpointZone(0, "zone-b"); err != nil || web.Endpoints()[0].Zone != "zone-b" {
		t.Errorf("SetEndpointZone: %v", err)
	}
	if err := web.SetEndpointZone(0, ""); err != nil || web.Endpoints()[0].Zone != "" {
		t.Errorf("SetEndpointZone(\"\"): %v", err)
	}
	if err := cfg.RemoveService("default/web"); err != nil {
		t.Fatal(err)
	}
	if err := web.SetVIP("10.96.0.10"); !errors.Is(err, syscall.ENOENT) {
		t.Errorf("SetVIP on a removed service: %v, want ENOENT", err)
	}
	if cfg.Service("default/web") != nil || web.Ports() != nil {
		t.Error("a removed service is still found")
	}
	cfg.Close()
	if err := cfg.AddPodCIDR("10.244.0.0/16"); !errors.Is(err, syscall.EBADF) {
		t.Errorf("AddPodCIDR on a closed config: %v, want EBADF", err)
	}
	if _, err := cfg.Text(); !errors.Is(err, syscall.EBADF) {
		t.Errorf("Text of a closed config: %v, want EBADF", err)
	}
}

// ChangedServices, AddFrom, SameCluster and HealthChecks: configs in parts.
func TestConfigParts(t *testing.T) {
	a, err := ParseString("a", "cluster { pod-cidr 10.244.0.0/16; }\nservice default/a { vip 10.96.0.1; port 80/tcp; endpoint 10.244.1.1; }\nservice default/b { vip 10.96.0.2; port 80/tcp; }\n")
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := ParseString("b", "cluster { pod-cidr 10.244.0.0/16; }\nservice default/a { vip 10.96.0.1; port 80/tcp; endpoint 10.244.1.2; }\nservice default/c { vip 10.96.0.3; port 80/tcp; traffic-policy external local; health-check-nodeport 30999; endpoint 10.244.1.3 local; }\n")
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	names, err := ChangedServices(a, b)
	if err != nil || !reflect.DeepEqual(names, []string{"default/a", "default/c", "default/b"}) {
		t.Fatalf("ChangedServices = %v, %v", names, err)
	}
	if names, err := ChangedServices(a, a); err != nil || len(names) != 0 {
		t.Fatalf("ChangedServices(a, a) = %v, %v", names, err)
	}
	if !SameCluster(a, b) {
		t.Fatal("SameCluster: false")
	}
	if hc := b.HealthChecks(); !reflect.DeepEqual(hc, []HealthCheck{{"default/c", 30999, 1}}) {
		t.Fatalf("HealthChecks = %+v", hc)
	}
	if err := a.AddFrom(b); !errors.Is(err, syscall.EEXIST) {
		t.Fatalf("AddFrom with a service of the same name: %v, want EEXIST", err)
	}
	if a.ServiceCount() != 2 {
		t.Fatal("a refused AddFrom changed the config")
	}
	c := NewConfig()
	defer c.Close()
	if err := c.AddFrom(b); err != nil || c.ServiceCount() != 2 || c.Service("default/c") == nil {
		t.Fatalf("AddFrom: %v", err)
	}
}
