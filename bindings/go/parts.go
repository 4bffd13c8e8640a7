package svcc

// #include <stdlib.h>
// #include "helpers.h"
import "C"

import (
	"sync"
	"syscall"
	"unsafe"
)

// Configs in parts (one per file, as svcc agent reads a directory), and
// what changed between two.

// lockBoth locks two mutexes in address order, so that calls on (a, b) and
// (b, a) at once cannot deadlock; it returns the unlock.
func lockBoth(a, b *sync.Mutex) func() {
	if a == b {
		a.Lock()
		return a.Unlock
	}
	if uintptr(unsafe.Pointer(a)) > uintptr(unsafe.Pointer(b)) {
		a, b = b, a
	}
	a.Lock()
	b.Lock()
	return func() {
		b.Unlock()
		a.Unlock()
	}
}

// AddFrom copies src's services and cluster settings into c (a config in
// parts); EEXIST for a service c has already, EINVAL for a setting both
// set differently; nothing changed on error.  src must stay open while
// c's diagnostics may name its locations.
func (c *Config) AddFrom(src *Config) error {
	if src == c {
		return &Error{Op: "AddFrom", Err: syscall.EINVAL}
	}
	defer lockBoth(&c.mu, &src.mu)()
	if c.c == nil || src.c == nil {
		return errClosed("AddFrom")
	}
	if rc, err := C.svcc_config_add_from(c.c, src.c); rc != 0 {
		return newError("AddFrom", err, nil)
	}
	return nil
}

// SameCluster: a and b have the same cluster and masquerade settings.
func SameCluster(a, b *Config) bool {
	defer lockBoth(&a.mu, &b.mu)()
	return a.c != nil && b.c != nil && C.svcc_config_same_cluster(a.c, b.c) != 0
}

// ChangedServices: the services that differ between old (nil: none) and
// new: new's added or changed ones in its order, then old's removed ones;
// what Runtime.Update takes.
func ChangedServices(old, new *Config) ([]string, error) {
	oldmu := &new.mu
	if old != nil {
		oldmu = &old.mu
	}
	defer lockBoth(oldmu, &new.mu)()
	var oldc *C.struct_svcc_config
	if old != nil {
		if oldc = old.c; oldc == nil {
			return nil, errClosed("ChangedServices")
		}
	}
	if new.c == nil {
		return nil, errClosed("ChangedServices")
	}
	var ns C.struct_gosvcc_names
	if rc := C.gosvcc_changed_services(oldc, new.c, &ns); rc != 0 {
		return nil, &Error{Op: "ChangedServices", Err: syscall.Errno(rc)}
	}
	defer C.gosvcc_names_free(&ns)
	var names []string
	for _, s := range unsafe.Slice(ns.v, int(ns.n)) {
		names = append(names, C.GoString(s))
	}
	return names, nil
}
