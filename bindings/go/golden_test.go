package svcc

import (
	"os"
	"testing"
)

// Every example and golden config, parsed from its file and from a string,
// compiles to the C library's reviewed output, and its canonical text
// parses back to the same ruleset.
func TestGolden(t *testing.T) {
	for _, f := range configs(t) {
		t.Run(f, func(t *testing.T) {
			want := golden(t, f)
			cfg, err := ParseFile(f)
			if err != nil {
				t.Fatal(err)
			}
			defer cfg.Close()
			if got := compileText(t, cfg); got != want {
				t.Fatalf("ParseFile: compiled output differs from %s.nft:\n%s", f, got)
			}
			text, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			cfg2, err := ParseString(f, string(text))
			if err != nil {
				t.Fatal(err)
			}
			defer cfg2.Close()
			if got := compileText(t, cfg2); got != want {
				t.Fatal("ParseString: compiled output differs from the golden file")
			}
			canon, err := cfg.Text()
			if err != nil {
				t.Fatal(err)
			}
			cfg3, err := ParseString("canonical", canon)
			if err != nil {
				t.Fatalf("canonical text does not parse: %v\n%s", err, canon)
			}
			defer cfg3.Close()
			if got := compileText(t, cfg3); got != want {
				t.Fatalf("Config.Text parsed back compiles differently:\n%s", canon)
			}
			if cfg3.String() != canon {
				t.Fatal("Config.Text is no fixed point")
			}
		})
	}
}

func TestCompileTable(t *testing.T) {
	cfg, err := ParseFile("examples/minimal.svc")
	if err != nil {
		t.Fatal(err)
	}
	defer cfg.Close()
	rs, err := Compile(cfg, &Options{Table: "kp"})
	if err != nil {
		t.Fatal(err)
	}
	defer rs.Close()
	if s := rs.String(); !contains(s, "add table inet kp\n") {
		t.Fatalf("table kp not in:\n%s", s)
	}
	if _, err := Compile(cfg, &Options{Table: "bad name"}); err == nil {
		t.Fatal("a table named 'bad name' compiled")
	}
}

// Diff between two rulesets: what nft -f applies on top of the old one.
func TestDiff(t *testing.T) {
	a, _ := ParseString("a", "cluster { pod-cidr 10.244.0.0/16; }\nservice default/web { vip 10.96.0.10; port 80/tcp; endpoint 10.244.1.5; }\n")
	b, _ := ParseString("b", "cluster { pod-cidr 10.244.0.0/16; }\nservice default/web { vip 10.96.0.10; port 80/tcp; endpoint 10.244.1.5; endpoint 10.244.1.6; }\n")
	if a == nil || b == nil {
		t.Fatal("parse failed")
	}
	defer a.Close()
	defer b.Close()
	ra, err := Compile(a, nil)
	if err != nil {
		t.Fatal(err)
	}
	rb, err := Compile(b, nil)
	if err != nil {
		t.Fatal(err)
	}
	d, err := Diff(ra, rb)
	if err != nil || !contains(d, "10.244.1.6") || contains(d, "add table") {
		t.Fatalf("Diff(a, b) = %q, %v", d, err)
	}
	if d, err := Diff(ra, ra); err != nil || d != "" {
		t.Fatalf("Diff(a, a) = %q, %v", d, err)
	}
	if d, err := Diff(nil, ra); err != nil || d == "" {
		t.Fatalf("Diff(nil, a) = %q, %v", d, err)
	}
	ra.Close()
	if _, err := Diff(ra, rb); err == nil {
		t.Fatal("Diff of a closed ruleset succeeded")
	}
	rb.Close()
}
