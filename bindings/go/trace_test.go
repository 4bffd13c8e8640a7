package svcc

import (
	"errors"
	"reflect"
	"syscall"
	"testing"
)

// A pod's connection to the minimal example's vip goes half to each
// endpoint's 8080, not masqueraded; a port the service lacks is refused;
// a malformed flow is EINVAL.
func TestTrace(t *testing.T) {
	cfg, err := ParseFile("examples/minimal.svc")
	if err != nil {
		t.Fatal(err)
	}
	defer cfg.Close()
	rs := mustCompile(t, cfg)
	defer rs.Close()
	out, err := Trace(rs, Flow{From: FromPod, Saddr: "10.244.3.3", Daddr: "10.96.0.10", Dport: 80, Proto: TCP})
	if err != nil {
		t.Fatal(err)
	}
	var got []Outcome
	for _, o := range out {
		if o.Path == "" {
			t.Errorf("outcome without a path: %+v", o)
		}
		o.Path = ""
		got = append(got, o)
	}
	want := []Outcome{{Verdict: VerdictDNAT, Share: 0.5, Addr: "10.244.1.5", Port: 8080},
		{Verdict: VerdictDNAT, Share: 0.5, Addr: "10.244.2.7", Port: 8080}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("Trace = %+v, want %+v", got, want)
	}
	out, err = Trace(rs, Flow{From: FromOutside, Saddr: "192.0.2.1", Daddr: "10.96.0.10", Dport: 81, Proto: TCP})
	if err != nil || len(out) != 1 || out[0].Verdict != VerdictReset {
		t.Fatalf("a port the service lacks, from outside: %+v, %v", out, err)
	}
	_, err = Trace(rs, Flow{From: FromPod, Saddr: "10.244.3.3", Daddr: "fd00::1", Dport: 80, Proto: TCP})
	var e *Error
	if !errors.As(err, &e) || !errors.Is(err, syscall.EINVAL) || len(e.Diags) == 0 {
		t.Fatalf("addresses of two families: %v", err)
	}
}
