package svcc

// #include <stdlib.h>
// #include "helpers.h"
import "C"

import (
	"syscall"
	"unsafe"
)

// capture runs write with a C stream and returns what it wrote.
func capture(op string, write func(f *C.FILE) (C.int, error)) (string, error) {
	b, err := C.gosvcc_buf_open()
	if b == nil {
		return "", newError(op, err, nil)
	}
	defer C.gosvcc_buf_free(b)
	rc, werr := write(b.f)
	if crc, cerr := C.gosvcc_buf_close(b); crc != 0 && rc == 0 {
		return "", newError(op, cerr, nil)
	}
	if rc != 0 {
		return "", newError(op, werr, nil)
	}
	return C.GoStringN(b.data, C.int(b.len)), nil
}

// cStrings: a C array of C strings (for the C structs that point to arrays:
// cgo forbids Go pointers in memory passed to C); free with freeCStrings.
func cStrings(op string, v []string) (**C.char, error) {
	if len(v) == 0 {
		return nil, nil
	}
	arr := (**C.char)(C.calloc(C.size_t(len(v)), C.size_t(unsafe.Sizeof((*C.char)(nil)))))
	if arr == nil {
		return nil, &Error{Op: op, Err: syscall.ENOMEM}
	}
	s := unsafe.Slice(arr, len(v))
	for i, str := range v {
		c, err := cString(op, str, false)
		if err != nil {
			freeCStrings(arr, len(v))
			return nil, err
		}
		s[i] = c
	}
	return arr, nil
}

func freeCStrings(arr **C.char, n int) {
	if arr == nil {
		return
	}
	for _, c := range unsafe.Slice(arr, n) {
		C.free(unsafe.Pointer(c))
	}
	C.free(unsafe.Pointer(arr))
}
