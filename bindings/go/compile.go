package svcc

// #include <stdlib.h>
// #include <svcc.h>
import "C"

import (
	"runtime"
	"sync"
	"unsafe"
)

// Options of Compile.
type Options struct {
	Table string // "": "svcc"
}

// Ruleset is a compiled config: one nftables table.  Close frees it (else
// a finalizer does).
type Ruleset struct {
	mu    sync.Mutex
	c     *C.struct_svcc_ruleset
	diags []Diag
}

func newRuleset(c *C.struct_svcc_ruleset, d []Diag) *Ruleset {
	rs := &Ruleset{c: c, diags: d}
	runtime.SetFinalizer(rs, (*Ruleset).Close)
	return rs
}

// Compile checks cfg and lowers it to a ruleset.  Every error is in the
// *Error's Diags, with its location in the parsed text.
func Compile(cfg *Config, opts *Options) (*Ruleset, error) {
	var copts C.struct_svcc_options
	if opts != nil && opts.Table != "" {
		t, err := cString("Compile", opts.Table, false)
		if err != nil {
			return nil, err
		}
		defer C.free(unsafe.Pointer(t))
		copts.table = t
	}
	ctx, err := C.svcc_ctx_new()
	if ctx == nil {
		return nil, newError("Compile", err, nil)
	}
	defer C.svcc_ctx_free(ctx)
	var out *C.struct_svcc_ruleset
	var d []Diag
	if err := cfg.with("Compile", func(c *C.struct_svcc_config) error {
		rc, err := C.svcc_compile(ctx, c, &copts, &out)
		if rc != 0 {
			return newError("Compile", err, ctx) // now: its locations name the config's sources
		}
		d = diags(ctx)
		return nil
	}); err != nil {
		return nil, err
	}
	return newRuleset(out, d), nil
}

// Diags are the warnings of the compile that made the ruleset.
func (rs *Ruleset) Diags() []Diag { return rs.diags }

// Close frees the ruleset.  Safe to call twice.
func (rs *Ruleset) Close() {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	C.svcc_ruleset_free(rs.c)
	rs.c = nil
}

// Text is the ruleset as one nft transaction replacing any earlier table
// of its name (svcc_ruleset_write: what `svcc compile` prints).
func (rs *Ruleset) Text() (string, error) {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	if rs.c == nil {
		return "", errClosed("Ruleset.Text")
	}
	return capture("Ruleset.Text", func(f *C.FILE) (C.int, error) {
		rc, err := C.svcc_ruleset_write(rs.c, f)
		return rc, err
	})
}

// String is Text, or "" on error.
func (rs *Ruleset) String() string {
	s, _ := rs.Text()
	return s
}

// with runs fn with rs's handle locked.
func (rs *Ruleset) with(op string, fn func(*C.struct_svcc_ruleset) error) error {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	if rs.c == nil {
		return errClosed(op)
	}
	return fn(rs.c)
}

// Diff is the transaction from old (nil: no table yet) to new, as nft
// commands that `nft -f` applies on top of old; "" when they are equal.
func Diff(old, new *Ruleset) (string, error) {
	oldmu := &new.mu
	if old != nil {
		oldmu = &old.mu
	}
	defer lockBoth(oldmu, &new.mu)()
	var oldc *C.struct_svcc_ruleset
	if old != nil {
		if oldc = old.c; oldc == nil {
			return "", errClosed("Diff")
		}
	}
	if new.c == nil {
		return "", errClosed("Diff")
	}
	return capture("Diff", func(f *C.FILE) (C.int, error) {
		rc, err := C.svcc_ruleset_diff(oldc, new.c, f)
		return rc, err
	})
}
