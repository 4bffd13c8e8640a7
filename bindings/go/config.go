package svcc

// #include <stdlib.h>
// #include "helpers.h"
import "C"

import (
	"fmt"
	"runtime"
	"sync"
	"unsafe"
)

// Config is a configuration: cluster settings and services, parsed from
// .svc text, imported, or built in code.  Close frees its C memory (else
// a finalizer does).
type Config struct {
	mu  sync.Mutex
	c   *C.struct_svcc_config
	ctx *C.struct_svcc_ctx // parsed or imported: the sources its locations point into
	// diagnostics of the parse or import that made it (its warnings)
	diags []Diag
}

func newConfig(c *C.struct_svcc_config, ctx *C.struct_svcc_ctx) *Config {
	cfg := &Config{c: c, ctx: ctx, diags: diags(ctx)}
	runtime.SetFinalizer(cfg, (*Config).Close)
	return cfg
}

// NewConfig returns an empty config (nil only when out of memory).
func NewConfig() *Config {
	c := C.svcc_config_new()
	if c == nil {
		return nil
	}
	return newConfig(c, nil)
}

// ParseFile parses a .svc file.  Every syntax error is in the *Error's Diags.
func ParseFile(path string) (*Config, error) {
	cpath, err := cString("ParseFile", path, false)
	if err != nil {
		return nil, err
	}
	defer C.free(unsafe.Pointer(cpath))
	return parse("ParseFile "+path, func(ctx *C.struct_svcc_ctx, out **C.struct_svcc_config) (C.int, error) {
		rc, err := C.svcc_parse_file(ctx, cpath, out)
		return rc, err
	})
}

// ParseString parses .svc text; name is what diagnostics call it.
func ParseString(name, text string) (*Config, error) {
	cname, err := cString("ParseString", name, false)
	if err != nil {
		return nil, err
	}
	defer C.free(unsafe.Pointer(cname))
	ctext := C.CString(text) // a NUL in text is the parser's to report: len says how long
	defer C.free(unsafe.Pointer(ctext))
	return parse("ParseString "+name, func(ctx *C.struct_svcc_ctx, out **C.struct_svcc_config) (C.int, error) {
		rc, err := C.svcc_parse_string(ctx, cname, ctext, C.size_t(len(text)), out)
		return rc, err
	})
}

// parse: a fresh context, kept with the config (its locations point into it).
func parse(op string, call func(*C.struct_svcc_ctx, **C.struct_svcc_config) (C.int, error)) (*Config, error) {
	ctx, err := C.svcc_ctx_new()
	if ctx == nil {
		return nil, newError(op, err, nil)
	}
	var out *C.struct_svcc_config
	if rc, err := call(ctx, &out); rc != 0 {
		e := newError(op, err, ctx)
		C.svcc_ctx_free(ctx)
		return nil, e
	}
	return newConfig(out, ctx), nil
}

// Close frees the config.  Its Services are then unusable.  Safe to call twice.
func (c *Config) Close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	C.svcc_config_free(c.c)
	C.svcc_ctx_free(c.ctx)
	c.c, c.ctx = nil, nil
}

// Diags are the warnings of the parse or import that made the config.
func (c *Config) Diags() []Diag { return c.diags }

// Text is the config as canonical .svc text (svcc_config_write, what svcc
// fmt prints).  EINVAL when it holds what the language cannot say.
func (c *Config) Text() (string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.c == nil {
		return "", errClosed("Config.Text")
	}
	return capture("Config.Text", func(f *C.FILE) (C.int, error) {
		rc, err := C.svcc_config_write(c.c, f)
		return rc, err
	})
}

// String is Text, or "" when the config cannot be written.
func (c *Config) String() string {
	s, _ := c.Text()
	return s
}

// call runs fn on the open config, locked; EBADF once closed.
func (c *Config) call(op string, fn func(*C.struct_svcc_config) (C.int, error)) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.c == nil {
		return errClosed(op)
	}
	if rc, err := fn(c.c); rc != 0 {
		return newError(op, err, nil)
	}
	return nil
}

// with runs fn on the open config, locked; its error passed through.
func (c *Config) with(op string, fn func(*C.struct_svcc_config) error) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.c == nil {
		return errClosed(op)
	}
	return fn(c.c)
}

// callString: call with s as a C string ("" as NULL when optional).
func (c *Config) callString(op, s string, optional bool,
	fn func(*C.struct_svcc_config, *C.char) (C.int, error)) error {
	cs, err := cString(op, s, optional)
	if err != nil {
		return err
	}
	defer C.free(unsafe.Pointer(cs))
	return c.call(fmt.Sprintf("%s %q", op, s), func(cfg *C.struct_svcc_config) (C.int, error) {
		return fn(cfg, cs)
	})
}

// get runs fn on the open config, locked; false once closed.
func (c *Config) get(fn func(*C.struct_svcc_config)) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.c == nil {
		return false
	}
	fn(c.c)
	return true
}
