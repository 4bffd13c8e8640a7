//go:build svcc_local

package svcc

// The library of a build tree: CGO_CFLAGS and CGO_LDFLAGS say where
// (bindings/go/test.sh sets them from make's BUILD directory).

// #cgo CFLAGS: -I${SRCDIR}/../../include
import "C"
