//go:build !svcc_local

package svcc

// The installed library (make install; the libsvcc-dev package), found
// through pkg-config.  Built with -tags svcc_local instead, the binding
// links what CGO_CFLAGS and CGO_LDFLAGS name (make check-go: the tree's
// own libsvcc.a).

// #cgo pkg-config: svcc
import "C"
