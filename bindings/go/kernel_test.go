package svcc

import (
	"errors"
	"os"
	"os/exec"
	"sort"
	"strings"
	"syscall"
	"testing"
)

// TestKernel applies through netlink in a private network namespace: the
// test binary runs again in a new one (CLONE_NEWNET), as root only.
func TestKernel(t *testing.T) {
	if os.Getenv("SVCC_GO_NETNS") == "" {
		if os.Geteuid() != 0 {
			t.Skip("not root: applying needs CAP_NET_ADMIN (run as root for the kernel tests)")
		}
		cmd := exec.Command(os.Args[0], "-test.run=^TestKernel$", "-test.v", "-test.count=1")
		cmd.Dir = "bindings/go" // TestMain goes up from there
		cmd.Env = append(os.Environ(), "SVCC_GO_NETNS=1")
		cmd.SysProcAttr = &syscall.SysProcAttr{Cloneflags: syscall.CLONE_NEWNET}
		out, err := cmd.CombinedOutput()
		t.Logf("in a new network namespace:\n%s", out)
		if err != nil || !strings.Contains(string(out), "--- PASS: TestKernel/update") {
			t.Fatalf("kernel tests: %v", err)
		}
		return
	}
	rt, err := NewRuntime("", 0)
	if err != nil {
		t.Fatal(err)
	}
	defer rt.Close()
	cfg, err := ParseFile("examples/cluster.svc")
	if err != nil {
		t.Fatal(err)
	}
	defer cfg.Close()
	rs, err := Compile(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer rs.Close()

	var updated *Ruleset // after the update subtest
	defer func() {
		if updated != nil {
			updated.Close()
		}
	}()

	t.Run("plan", func(t *testing.T) {
		plan, err := rt.Plan(rs)
		if err != nil || !strings.Contains(plan, "add table inet svcc") || !strings.Contains(plan, "10.244.1.11") {
			t.Fatalf("Plan = %q, %v", plan, err)
		}
		if back, _, err := rt.Read(); err != nil || back != nil {
			t.Fatalf("a table after Plan alone: %v, %v", back, err)
		}
	})
	t.Run("apply", func(t *testing.T) {
		if err := rt.Apply(rs); err != nil {
			t.Fatal(err)
		}
		if st := rt.Stats(); st.Added == 0 || st.Messages == 0 {
			t.Fatalf("first apply: %+v", st)
		}
		expectKernel(t, rt, rs)
		out, err := exec.Command("nft", "list", "table", "inet", "svcc").CombinedOutput()
		if err != nil || !strings.Contains(string(out), "10.100.12.7") {
			t.Fatalf("nft list table: %v\n%s", err, out)
		}
	})
	t.Run("again", func(t *testing.T) {
		if err := rt.Apply(rs); err != nil {
			t.Fatal(err)
		}
		if st := rt.Stats(); st.Messages != 0 || st.Added+st.Changed+st.Deleted != 0 {
			t.Fatalf("second apply sent something: %+v", st)
		}
		if plan, err := rt.Plan(rs); err != nil || plan != "" {
			t.Fatalf("Plan of what is applied = %q, %v", plan, err)
		}
		if err := rt.ApplyConfig(cfg); err != nil {
			t.Fatal(err)
		}
		if st := rt.Stats(); st.Messages != 0 {
			t.Fatalf("ApplyConfig of the same config sent something: %+v", st)
		}
	})
	t.Run("update", func(t *testing.T) {
		next, err := ParseFile("examples/cluster.svc")
		if err != nil {
			t.Fatal(err)
		}
		defer next.Close()
		fe := next.Service("shop/frontend")
		eps := fe.Endpoints()
		if len(eps) != 3 {
			t.Fatalf("shop/frontend: %d endpoints", len(eps))
		}
		if err := fe.SetEndpoints(eps[:2]); err != nil {
			t.Fatal(err)
		}
		names, err := ChangedServices(cfg, next)
		if err != nil || len(names) != 1 || names[0] != "shop/frontend" {
			t.Fatalf("ChangedServices = %v, %v", names, err)
		}
		want, err := Compile(next, nil)
		if err != nil {
			t.Fatal(err)
		}
		updated = want
		plan, err := rt.Plan(want)
		if err != nil || !strings.Contains(plan, "10.244.3.11") || strings.Contains(plan, "10.244.1.12") {
			t.Fatalf("Plan of the update = %q, %v", plan, err)
		}
		if err := rt.Update(next, names...); err != nil {
			t.Fatal(err)
		}
		if st := rt.Stats(); st.ServicesCompiled != 1 || st.Messages == 0 {
			t.Fatalf("Update of one service: %+v", st)
		}
		expectKernel(t, rt, want)
		same, diff, err := rt.Verify(rs)
		if err != nil || same || !strings.Contains(diff, "10.244.3.11") {
			t.Fatalf("Verify against the old ruleset: %v %q %v", same, diff, err)
		}
	})
	// after update: svcc_runtime_read reads on the side; the runtime's model stays
	t.Run("read", func(t *testing.T) {
		if updated == nil {
			t.Fatal("no update to read back")
		}
		back, foreign, err := rt.Read()
		if err != nil || back == nil || foreign != 0 {
			t.Fatalf("Read: %v, %d foreign, %v", back, foreign, err)
		}
		defer back.Close()
		// the same table, but the update kept the kernel's endpoint slots
		// (runtime/slots.c): the same elements, their keys maybe swapped
		// within a service's range, so the same behaviour (Verify)
		if endpointData(updated.String()) != endpointData(back.String()) {
			t.Fatalf("read back has other endpoints than were applied:\n%s\n%s", updated, back)
		}
		if same, d, err := rt.Verify(updated); err != nil || !same {
			t.Fatalf("read back behaves otherwise than what was applied: %v\n%s", err, d)
		}
	})
	t.Run("refused", func(t *testing.T) {
		bad, err := ParseString("bad.svc", "service default/a { vip 10.96.0.1; port 80; }\nservice default/b { vip 10.96.0.1; port 80; }\n")
		if err != nil {
			t.Fatal(err)
		}
		defer bad.Close()
		err = rt.ApplyConfig(bad)
		var e *Error
		if !errors.As(err, &e) || len(e.Diags) == 0 || e.Diags[0].File != "bad.svc" || e.Diags[0].Line == 0 {
			t.Fatalf("ApplyConfig of a bad config: %v", err)
		}
		if back, _, err := rt.Read(); err != nil || back == nil || !strings.Contains(back.String(), "10.100.12.7") {
			t.Fatalf("the kernel changed after a refused config: %v", err)
		}
	})
	t.Run("resync", func(t *testing.T) {
		if out, err := exec.Command("nft", "flush", "chain", "inet", "svcc", "services").CombinedOutput(); err != nil {
			t.Fatalf("nft flush chain: %v\n%s", err, out)
		}
		if err := rt.Resync(); err != nil {
			t.Fatal(err)
		}
		if same, _, err := rt.Verify(rs); err != nil || same {
			t.Fatalf("Verify after drift: %v, %v", same, err)
		}
		if err := rt.Apply(rs); err != nil {
			t.Fatal(err)
		}
		expectKernel(t, rt, rs)
	})
	t.Run("via-nft", func(t *testing.T) {
		nrt, err := NewRuntime("svcc_nft", ViaNFT)
		if err != nil {
			t.Fatal(err)
		}
		defer nrt.Close()
		nrs, err := Compile(cfg, &Options{Table: "svcc_nft"})
		if err != nil {
			t.Fatal(err)
		}
		defer nrs.Close()
		if err := nrt.Apply(nrs); err != nil {
			t.Fatal(err)
		}
		expectKernel(t, nrt, nrs)
		if err := nrt.Apply(nrs); err != nil {
			t.Fatal(err)
		}
		if st := nrt.Stats(); st.Added+st.Changed+st.Deleted != 0 {
			t.Fatalf("second apply through nft changed something: %+v", st)
		}
		if err := nrt.DeleteTable(); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("delete", func(t *testing.T) {
		if err := rt.DeleteTable(); err != nil {
			t.Fatal(err)
		}
		if back, _, err := rt.Read(); err != nil || back != nil {
			t.Fatalf("a table after DeleteTable: %v", err)
		}
		rt.Close()
		if err := rt.Apply(rs); !errors.Is(err, syscall.EBADF) {
			t.Fatalf("Apply on a closed runtime: %v, want EBADF", err)
		}
	})
}

func expectKernel(t *testing.T, rt *Runtime, rs *Ruleset) {
	t.Helper()
	if same, diff, err := rt.Verify(rs); err != nil || !same {
		t.Fatalf("the kernel does not hold the ruleset: %v\n%s", err, diff)
	}
}

// The sorted "ADDR . PORT" data of every endpoint map element of a ruleset's text, keys left out.
func endpointData(text string) string {
	var v []string
	for _, l := range strings.Split(text, "\n") {
		if i := strings.Index(l, " : "); i > 0 && strings.HasPrefix(l, "\t") {
			v = append(v, strings.TrimSuffix(l[i+3:], ","))
		}
	}
	sort.Strings(v)
	return strings.Join(v, "\n")
}
