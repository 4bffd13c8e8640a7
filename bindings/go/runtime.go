package svcc

// #include <stdlib.h>
// #include <svcc.h>
import "C"

import (
	"fmt"
	goruntime "runtime"
	"sync"
	"time"
	"unsafe"
)

// RuntimeFlags of NewRuntime.
type RuntimeFlags uint

const (
	ViaNFT  RuntimeFlags = C.SVCC_RT_VIA_NFT  // send transactions as nft text through libnftables
	OneShot RuntimeFlags = C.SVCC_RT_ONE_SHOT // one apply, then Close: keep no copy of what was applied
	Owner   RuntimeFlags = C.SVCC_RT_OWNER    // own the table while the runtime lives (Linux 5.12)
)

// Runtime keeps one table in the kernel in step with the rulesets or
// configs given to it, through its own netlink socket (in the network
// namespace of the thread that made it).  Needs CAP_NET_ADMIN.  Close
// frees it (else a finalizer does); the table stays in the kernel.
type Runtime struct {
	mu    sync.Mutex
	c     *C.struct_svcc_runtime
	ctx   *C.struct_svcc_ctx
	diags []Diag
}

// NewRuntime makes a runtime for table ("": "svcc") and reads it back.
func NewRuntime(table string, flags RuntimeFlags) (*Runtime, error) {
	op := fmt.Sprintf("NewRuntime %q", table)
	ctable, err := cString(op, table, true)
	if err != nil {
		return nil, err
	}
	defer C.free(unsafe.Pointer(ctable))
	ctx, err := C.svcc_ctx_new()
	if ctx == nil {
		return nil, newError(op, err, nil)
	}
	var rt *C.struct_svcc_runtime
	if rc, err := C.svcc_runtime_new(ctx, ctable, C.uint(flags), &rt); rc != 0 {
		e := newError(op, err, ctx)
		C.svcc_ctx_free(ctx)
		return nil, e
	}
	r := &Runtime{c: rt, ctx: ctx, diags: diags(ctx)}
	goruntime.SetFinalizer(r, (*Runtime).Close)
	return r, nil
}

// Close frees the runtime and its socket.  Safe to call twice.
func (r *Runtime) Close() {
	r.mu.Lock()
	defer r.mu.Unlock()
	C.svcc_runtime_free(r.c)
	C.svcc_ctx_free(r.ctx)
	r.c, r.ctx = nil, nil
}

// Diags are the diagnostics (warnings too) of the runtime's last call.
func (r *Runtime) Diags() []Diag {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.diags
}

// call runs fn locked, its diagnostics kept; an *Error with them on failure.
func (r *Runtime) call(op string, fn func(*C.struct_svcc_runtime) (C.int, error)) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.c == nil {
		return errClosed(op)
	}
	C.svcc_ctx_clear(r.ctx)
	rc, err := fn(r.c)
	r.diags = diags(r.ctx) // before an argument's lock goes: locations name its sources
	C.svcc_ctx_clear(r.ctx)
	if rc != 0 {
		e := newError(op, err, nil)
		e.(*Error).Diags = r.diags
		return e
	}
	return nil
}

// Apply makes the kernel match rs in one atomic batch of the difference.
// On error the kernel is unchanged.
func (r *Runtime) Apply(rs *Ruleset) error {
	return rs.with("Apply", func(c *C.struct_svcc_ruleset) error {
		return r.call("Apply", func(rt *C.struct_svcc_runtime) (C.int, error) {
			rc, err := C.svcc_runtime_apply(rt, c)
			return rc, err
		})
	})
}

// ApplyConfig checks, compiles and applies cfg whole, and keeps what
// Update needs.
func (r *Runtime) ApplyConfig(cfg *Config) error {
	return cfg.with("ApplyConfig", func(c *C.struct_svcc_config) error {
		return r.call("ApplyConfig", func(rt *C.struct_svcc_runtime) (C.int, error) {
			rc, err := C.svcc_runtime_apply_config(rt, c)
			return rc, err
		})
	})
}

// Update applies cfg after changes to the named services only (updated,
// added or removed since the last ApplyConfig or Update); a change beyond
// them is applied whole.  ChangedServices gives the names.
func (r *Runtime) Update(cfg *Config, names ...string) error {
	arr, err := cStrings("Update", names)
	if err != nil {
		return err
	}
	defer freeCStrings(arr, len(names))
	return cfg.with("Update", func(c *C.struct_svcc_config) error {
		return r.call("Update", func(rt *C.struct_svcc_runtime) (C.int, error) {
			rc, err := C.svcc_runtime_update(rt, c, arr, C.size_t(len(names)))
			return rc, err
		})
	})
}

// Plan is the transaction Apply(rs) would send, as nft commands; nothing is sent.
func (r *Runtime) Plan(rs *Ruleset) (string, error) {
	var out string
	err := rs.with("Plan", func(c *C.struct_svcc_ruleset) error {
		return r.call("Plan", func(rt *C.struct_svcc_runtime) (C.int, error) {
			var err error
			out, err = capture("Plan", func(f *C.FILE) (C.int, error) {
				rc, err := C.svcc_runtime_plan(rt, c, f)
				return rc, err
			})
			if err != nil {
				return -1, err.(*Error).Err
			}
			return 0, nil
		})
	})
	return out, err
}

// Resync reads the table back from the kernel (after suspected drift); the
// next Apply or Update repairs what differs.
func (r *Runtime) Resync() error {
	return r.call("Resync", func(rt *C.struct_svcc_runtime) (C.int, error) {
		rc, err := C.svcc_runtime_resync(rt)
		return rc, err
	})
}

// Verify reads the whole table back and compares it with rs: same, or the
// differences as a diff of nft commands ("- " what the kernel has that rs
// has not, "+ " what it lacks).  Changes nothing in the kernel; the runtime
// then holds the table as read back, so its next Update applies whole.
func (r *Runtime) Verify(rs *Ruleset) (same bool, diff string, err error) {
	err = rs.with("Verify", func(c *C.struct_svcc_ruleset) error {
		return r.call("Verify", func(rt *C.struct_svcc_runtime) (C.int, error) {
			var rc C.int
			var cerr error
			diff, err = capture("Verify", func(f *C.FILE) (C.int, error) {
				rc, cerr = C.svcc_runtime_verify(rt, c, f)
				if rc == 1 {
					return 0, nil
				}
				return rc, cerr
			})
			if err != nil {
				return -1, err.(*Error).Err
			}
			same = rc == 0
			return 0, nil
		})
	})
	return same, diff, err
}

// Read is the table as the kernel holds it, as a ruleset (nil when there is
// no table), and the number of rules in it svcc would not make (another
// program's), which it leaves out.
func (r *Runtime) Read() (*Ruleset, int, error) {
	var out *C.struct_svcc_ruleset
	var foreign C.size_t
	if err := r.call("Read", func(rt *C.struct_svcc_runtime) (C.int, error) {
		rc, err := C.svcc_runtime_read(rt, &out, &foreign)
		return rc, err
	}); err != nil {
		return nil, 0, err
	}
	if out == nil {
		return nil, int(foreign), nil
	}
	return newRuleset(out, nil), int(foreign), nil
}

// DeleteTable removes the table from the kernel.
func (r *Runtime) DeleteTable() error {
	return r.call("DeleteTable", func(rt *C.struct_svcc_runtime) (C.int, error) {
		rc, err := C.svcc_runtime_delete_table(rt)
		return rc, err
	})
}

// Stats of the last apply.
type Stats struct {
	Added, Changed, Deleted uint64 // objects (sets, chains, rules, elements); chains rewritten
	Messages                uint64 // netlink messages sent in the batch
	ConntrackDeleted        uint64 // stale UDP conntrack entries deleted
	AffinityDeleted         uint64 // affinity clients of removed endpoints forgotten
	Duration                time.Duration
	ServicesCompiled        uint64
	SetsRead, ChainsRead    uint64 // read back for it; the others the fingerprints vouched for
}

// Stats of the runtime's last apply (or update).
func (r *Runtime) Stats() Stats {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.c == nil {
		return Stats{}
	}
	s := C.svcc_runtime_stats(r.c)
	return Stats{
		Added: uint64(s.added), Changed: uint64(s.changed), Deleted: uint64(s.deleted),
		Messages: uint64(s.messages), ConntrackDeleted: uint64(s.conntrack_deleted),
		AffinityDeleted:  uint64(s.affinity_deleted),
		Duration:         time.Duration(float64(s.seconds) * float64(time.Second)),
		ServicesCompiled: uint64(s.services_compiled), SetsRead: uint64(s.sets_read),
		ChainsRead: uint64(s.chains_read),
	}
}

// OwnerPort is the netlink port id of the process owning the table (Owner), 0: none.
func (r *Runtime) OwnerPort() uint32 {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.c == nil {
		return 0
	}
	return uint32(C.svcc_runtime_owner(r.c))
}
