package svcc

// #include <stdlib.h>
// #include <svcc.h>
import "C"

import (
	"errors"
	"fmt"
	"strings"
	"syscall"
)

// Severity of a diagnostic.
type Severity int

const (
	SeverityError   Severity = C.SVCC_ERROR
	SeverityWarning Severity = C.SVCC_WARNING
	SeverityNote    Severity = C.SVCC_NOTE
)

func (s Severity) String() string {
	switch s {
	case SeverityError:
		return "error"
	case SeverityWarning:
		return "warning"
	case SeverityNote:
		return "note"
	}
	return fmt.Sprintf("severity(%d)", int(s))
}

// Diag is one diagnostic of the library.  File is "" and Line, Column 0
// when it has no location (a check on a config built in code).
type Diag struct {
	Severity   Severity
	File       string
	Line       int // 1-based
	Column     int // 1-based, first column of the span
	EndColumn  int // last column of the span
	Message    string
	SourceLine string // the text of that line, or ""
}

// String is the diagnostic's first line as svcc prints it:
// "file:line:column: error: message".
func (d Diag) String() string {
	if d.File == "" {
		return fmt.Sprintf("%s: %s", d.Severity, d.Message)
	}
	return fmt.Sprintf("%s:%d:%d: %s: %s", d.File, d.Line, d.Column, d.Severity, d.Message)
}

// Error is what every call of the package returns on failure.
type Error struct {
	Op    string // the call that failed, with its argument when it helps: `SetVIP "1.2.3.300"`
	Err   error  // the errno (syscall.Errno), or nil
	Diags []Diag // every diagnostic of the call (errors, warnings, notes), in order
}

func (e *Error) Error() string {
	for i, d := range e.Diags {
		if d.Severity != SeverityError {
			continue
		}
		n := 0
		for _, o := range e.Diags[i+1:] {
			if o.Severity == SeverityError {
				n++
			}
		}
		if n > 0 {
			return fmt.Sprintf("svcc: %s: %s (and %d more errors)", e.Op, d, n)
		}
		return fmt.Sprintf("svcc: %s: %s", e.Op, d)
	}
	if e.Err != nil {
		return fmt.Sprintf("svcc: %s: %v", e.Op, e.Err)
	}
	return "svcc: " + e.Op + " failed"
}

// Unwrap gives the errno, for errors.Is.
func (e *Error) Unwrap() error { return e.Err }

// errClosed: a value used after Close.
func errClosed(op string) error { return &Error{Op: op, Err: syscall.EBADF} }

// newError: the errno of a failed C call (cgo's second result), and the
// diagnostics of ctx (may be nil).
func newError(op string, errno error, ctx *C.struct_svcc_ctx) error {
	e := &Error{Op: op, Diags: diags(ctx)}
	var no syscall.Errno
	if errors.As(errno, &no) && no != 0 {
		e.Err = no
	}
	return e
}

// diags copies ctx's diagnostics into Go: they point into C memory that the
// next call on ctx may free.
func diags(ctx *C.struct_svcc_ctx) []Diag {
	if ctx == nil {
		return nil
	}
	n := C.svcc_diag_count(ctx)
	if n == 0 {
		return nil
	}
	out := make([]Diag, 0, int(n))
	for i := C.size_t(0); i < n; i++ {
		d := C.svcc_diag_get(ctx, i)
		out = append(out, Diag{
			Severity:   Severity(d.severity),
			File:       goString(d.file),
			Line:       int(d.line),
			Column:     int(d.column),
			EndColumn:  int(d.end_column),
			Message:    goString(d.message),
			SourceLine: goString(d.source_line),
		})
	}
	return out
}

// goString: C.GoString, with NULL as "".
func goString(s *C.char) string {
	if s == nil {
		return ""
	}
	return C.GoString(s)
}

// cString: a C copy of s, NULL for "" when optional; free it with C.free.
// A NUL byte would cut the string short in C: EINVAL.
func cString(op, s string, optional bool) (*C.char, error) {
	if strings.IndexByte(s, 0) >= 0 {
		return nil, &Error{Op: fmt.Sprintf("%s %q", op, s), Err: syscall.EINVAL}
	}
	if s == "" && optional {
		return nil, nil
	}
	return C.CString(s), nil
}
