package fastrun

// The log callback libfastrun calls. It lives in its own file: a cgo preamble in a file
// with //export may hold declarations only.

/*
#include "fastrun.h"
*/
import "C"

import (
	"runtime/cgo"
	"unsafe"
)

//export fastrunGoLog
func fastrunGoLog(level C.int, msg *C.char, userdata unsafe.Pointer) {
	h := cgo.Handle(uintptr(userdata))
	if f, ok := h.Value().(func(LogLevel, string)); ok && f != nil {
		f(LogLevel(level), C.GoString(msg))
	}
}
