package svcc

import (
	"fmt"
	"runtime"
	"sync"
	"testing"
)

// One config and two rulesets used from many goroutines at once: each
// value's mutex keeps the C handle to one thread at a time (valgrind and
// the library's own checks would see a torn config), and calls taking two
// values in either order do not deadlock.
func TestConcurrent(t *testing.T) {
	cfg, err := ParseFile("examples/cluster.svc")
	if err != nil {
		t.Fatal(err)
	}
	defer cfg.Close()
	other, err := ParseFile("examples/minimal.svc")
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	ra, rb := mustCompile(t, cfg), mustCompile(t, other)
	defer ra.Close()
	defer rb.Close()
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			svc := cfg.Service("shop/frontend")
			for i := 0; i < 50; i++ {
				eps := []Endpoint{{Addr: fmt.Sprintf("10.244.%d.%d", g+1, i+1)}}
				if err := svc.SetEndpoints(eps); err != nil {
					errs <- err
					return
				}
				if _, err := Compile(cfg, nil); err != nil {
					errs <- err
					return
				}
				a, b := ra, rb
				if g%2 == 1 {
					a, b = rb, ra
				}
				if d, err := Diff(a, b); err != nil || d == "" {
					errs <- fmt.Errorf("Diff: %q, %v", d, err)
					return
				}
				if _, err := ChangedServices(cfg, other); err != nil {
					errs <- err
					return
				}
				if _, err := ChangedServices(other, cfg); err != nil {
					errs <- err
					return
				}
			}
		}(g)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if n := len(cfg.Service("shop/frontend").Endpoints()); n != 1 {
		t.Fatalf("%d endpoints after the last SetEndpoints of one", n)
	}
}

// Values dropped without Close are freed by their finalizers (valgrind in
// test.sh would report an invalid free; a double free would abort).
func TestFinalizers(t *testing.T) {
	for i := 0; i < 20; i++ {
		cfg, err := ParseFile("examples/cluster.svc")
		if err != nil {
			t.Fatal(err)
		}
		if i%2 == 0 {
			cfg.Close() // then the finalizer's Close is the second: nothing
		}
		mustCompile(t, NewConfig())
	}
	for i := 0; i < 3; i++ {
		runtime.GC()
	}
}

func mustCompile(t *testing.T, cfg *Config) *Ruleset {
	t.Helper()
	rs, err := Compile(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	return rs
}
