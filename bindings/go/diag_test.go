package svcc

import (
	"bufio"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
)

var diagLine = regexp.MustCompile(`^[^ ].*:\d+:\d+: (error|warning|note): `)

// Every file of tests/bad fails to parse or compile with an *Error whose
// Diags are, in order, the reviewed diagnostics of its .err file: location,
// severity, message and the source line under them.
func TestBadDiagnostics(t *testing.T) {
	files, err := filepath.Glob("tests/bad/*.svc")
	if err != nil || len(files) < 40 {
		t.Fatalf("tests/bad: %d files, %v", len(files), err)
	}
	for _, f := range files {
		t.Run(f, func(t *testing.T) {
			want := readLines(t, strings.TrimSuffix(f, ".svc")+".err")
			err := parseAndCompile(f)
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("err = %v, want an *Error", err)
			}
			var headers []string
			next := map[string]string{} // header -> the line after it
			for i, l := range want {
				if diagLine.MatchString(l) {
					headers = append(headers, l)
					if i+1 < len(want) {
						next[l] = want[i+1]
					}
				}
			}
			if len(e.Diags) != len(headers) {
				t.Fatalf("%d diagnostics, want %d: %v", len(e.Diags), len(headers), e.Diags)
			}
			for i, d := range e.Diags {
				if d.String() != headers[i] {
					t.Errorf("diagnostic %d: %q, want %q", i, d.String(), headers[i])
				}
				if d.SourceLine != "" && next[headers[i]] != d.SourceLine {
					t.Errorf("diagnostic %d: source line %q, want %q", i, d.SourceLine, next[headers[i]])
				}
				if d.File != f || d.Line < 1 || d.Column < 1 || d.EndColumn < d.Column {
					t.Errorf("diagnostic %d: location %s:%d:%d-%d", i, d.File, d.Line, d.Column, d.EndColumn)
				}
			}
			if !strings.Contains(err.Error(), e.Diags[0].Message) {
				t.Errorf("Error() = %q does not say %q", err.Error(), e.Diags[0].Message)
			}
		})
	}
}

func parseAndCompile(f string) error {
	cfg, err := ParseFile(f)
	if err != nil {
		return err
	}
	defer cfg.Close()
	rs, err := Compile(cfg, nil)
	if err == nil {
		rs.Close()
	}
	return err
}

func readLines(t *testing.T, path string) []string {
	fh, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	var lines []string
	sc := bufio.NewScanner(fh)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		lines = append(lines, sc.Text())
	}
	return lines
}

// A string names itself in diagnostics; a missing file is an *Error with
// its errno; a config built in code has errors without locations.
func TestParseErrors(t *testing.T) {
	_, err := ParseString("inline.svc", "service default/web {\n    vip 10.96.0.300;\n}\n")
	var e *Error
	if !errors.As(err, &e) || len(e.Diags) != 1 {
		t.Fatalf("err = %v", err)
	}
	if d := e.Diags[0]; d.File != "inline.svc" || d.Line != 2 || d.Column != 9 || d.Severity != SeverityError ||
		!strings.Contains(d.Message, "invalid address '10.96.0.300'") {
		t.Fatalf("diag = %+v", d)
	}
	if want := "svcc: ParseString inline.svc: inline.svc:2:9: error: invalid address '10.96.0.300' in vip"; err.Error() != want {
		t.Fatalf("Error() = %q, want %q", err.Error(), want)
	}
	if _, err := ParseFile("/nonexistent.svc"); !errors.Is(err, syscall.ENOENT) {
		t.Fatalf("ParseFile of a missing file: %v, want ENOENT", err)
	}
	cfg := NewConfig()
	defer cfg.Close()
	a, _ := cfg.AddService("default/a")
	b, _ := cfg.AddService("default/b")
	a.SetVIP("10.96.0.1")
	b.SetVIP("10.96.0.1")
	_, err = Compile(cfg, nil)
	if !errors.As(err, &e) || len(e.Diags) == 0 || e.Diags[0].File != "" || e.Diags[0].Line != 0 {
		t.Fatalf("two services with one vip: %v (%+v)", err, e)
	}
}
