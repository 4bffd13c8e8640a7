package svcc

import (
	"os"
	"path/filepath"
	"testing"
)

// The tests run from the top of the tree: diagnostics then name files as
// tests/run.sh's do (tests/bad/*.err).
func TestMain(m *testing.M) {
	if err := os.Chdir("../.."); err != nil {
		panic(err)
	}
	os.Exit(m.Run())
}

// configs: every example and golden config, each with its reviewed .nft.
func configs(t *testing.T) []string {
	var files []string
	for _, g := range []string{"examples/*.svc", "tests/golden/*.svc"} {
		m, err := filepath.Glob(g)
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, m...)
	}
	if len(files) < 20 {
		t.Fatalf("only %d configs found in examples/ and tests/golden/", len(files))
	}
	return files
}

func golden(t *testing.T, svc string) string {
	b, err := os.ReadFile(svc[:len(svc)-len(".svc")] + ".nft")
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func compileText(t *testing.T, cfg *Config) string {
	t.Helper()
	rs, err := Compile(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer rs.Close()
	s, err := rs.Text()
	if err != nil {
		t.Fatal(err)
	}
	return s
}
