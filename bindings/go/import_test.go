package svcc

import (
	"errors"
	"os"
	"strings"
	"syscall"
	"testing"
)

// The sample cluster's Services and EndpointSlices, from files and from
// memory, give the config `svcc import-k8s` prints (examples/k8s/cluster.svc)
// and its warnings (cluster.warnings) as Diags.
func TestImportK8s(t *testing.T) {
	files := []string{"examples/k8s/services.json", "examples/k8s/endpointslices.json"}
	want, err := os.ReadFile("examples/k8s/cluster.svc")
	if err != nil {
		t.Fatal(err)
	}
	// the command's header comment is its own, not the library's
	for strings.HasPrefix(string(want), "#") {
		want = want[strings.IndexByte(string(want), '\n')+1:]
	}
	want = []byte(strings.TrimPrefix(string(want), "\n"))
	warnings := readLines(t, "examples/k8s/cluster.warnings")
	opts := &ImportOptions{NodeName: "node-a"}
	cfg, err := ImportK8s(files, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer cfg.Close()
	if got := cfg.String(); got != string(want) {
		t.Fatalf("imported config:\n%s", got)
	}
	var got []string
	for _, d := range cfg.Diags() {
		got = append(got, "import-k8s: "+d.Severity.String()+": "+d.File+": "+d.Message)
	}
	if strings.Join(got, "\n") != strings.Join(warnings, "\n") || len(got) == 0 {
		t.Fatalf("warnings:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(warnings, "\n"))
	}

	var bufs []ImportBuffer
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		bufs = append(bufs, ImportBuffer{Name: f, Data: b})
	}
	mem, err := ImportK8sBuffers(bufs, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer mem.Close()
	if mem.String() != string(want) || len(mem.Diags()) != len(warnings) {
		t.Fatalf("from memory:\n%s", mem)
	}
	// the options reach the library: pods told by their bridge
	br, err := ImportK8s(files, &ImportOptions{NodeName: "node-a", PodBridge: "cni0", ServiceCIDRs: []string{"10.96.0.0/12"}})
	if err != nil {
		t.Fatal(err)
	}
	defer br.Close()
	if br.PodBridge() != "cni0" || len(br.CIDRs(ServiceCIDRs)) != 1 {
		t.Fatalf("options not taken: bridge %q, service cidrs %v", br.PodBridge(), br.CIDRs(ServiceCIDRs))
	}

	_, err = ImportK8sBuffers([]ImportBuffer{{Name: "bad.json", Data: []byte(`{"kind": "Service", "spec": `)}}, nil)
	var e *Error
	if !errors.As(err, &e) || !errors.Is(err, syscall.EBADMSG) || len(e.Diags) == 0 || e.Diags[0].File != "bad.json" {
		t.Fatalf("bad JSON: %v", err)
	}
	if _, err := ImportK8s(files, &ImportOptions{PodBridge: "cni0", PodInterfacePrefix: "veth"}); !errors.Is(err, syscall.EINVAL) {
		t.Fatalf("two ways of telling pods: %v, want EINVAL", err)
	}
}
