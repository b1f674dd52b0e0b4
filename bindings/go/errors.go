package fastrun

import (
	"fmt"
	"syscall"
)

// Code classifies an Error; the values are libfastrun's FASTRUN_E_* codes.
type Code int

// The error codes.
const (
	CodeInvalidConfig   Code = 1   // the configuration is invalid (the message names the JSON path)
	CodeInvalidArgument Code = 2   // an argument is invalid (bad id, unknown signal, NUL in a string, ...)
	CodeNotFound        Code = 3   // no container with this id exists
	CodeAlreadyExists   Code = 4   // a container with this id already exists
	CodeInvalidState    Code = 5   // the container's state does not allow the operation
	CodeSystem          Code = 6   // a system call failed (Errno holds its errno)
	CodeUnsupported     Code = 7   // not supported here, or not implemented yet by the engine
	CodeInternal        Code = 8   // a bug in libfastrun (a caught panic)
	CodeBufferTooSmall  Code = 9   // internal to the binding: a buffer was too small
	CodeClosed          Code = 100 // the binding's own: the Context or Container was closed
)

var codeNames = map[Code]string{
	CodeInvalidConfig:   "invalid config",
	CodeInvalidArgument: "invalid argument",
	CodeNotFound:        "not found",
	CodeAlreadyExists:   "already exists",
	CodeInvalidState:    "invalid state",
	CodeSystem:          "system error",
	CodeUnsupported:     "unsupported",
	CodeInternal:        "internal error",
	CodeBufferTooSmall:  "buffer too small",
	CodeClosed:          "closed",
}

func (c Code) String() string {
	if s, ok := codeNames[c]; ok {
		return s
	}
	return fmt.Sprintf("code %d", int(c))
}

// Error is the error every call of this package returns: libfastrun's code, errno and
// message, and the operation that failed.
//
// Compare codes with errors.Is and the Err* values (errors.Is(err, fastrun.ErrNotFound)),
// and errnos with errors.Is(err, syscall.ENOENT): Unwrap returns the errno.
type Error struct {
	Op      string        // the operation, e.g. "create"
	Code    Code          // the class of the error
	Errno   syscall.Errno // the errno behind it, or 0
	Message string        // libfastrun's message
}

func (e *Error) Error() string {
	if e.Message == "" {
		return "fastrun: " + e.Op + ": " + e.Code.String()
	}
	return "fastrun: " + e.Op + ": " + e.Message
}

// Unwrap returns the errno behind the error, if any.
func (e *Error) Unwrap() error {
	if e.Errno != 0 {
		return e.Errno
	}
	return nil
}

// Is reports whether target is an *Error of the same Code with no Message (the Err*
// values), so that errors.Is(err, ErrNotFound) works.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Message == "" && t.Op == "" && t.Code == e.Code
}

// Values to compare errors with errors.Is.
var (
	ErrInvalidConfig   = &Error{Code: CodeInvalidConfig}
	ErrInvalidArgument = &Error{Code: CodeInvalidArgument}
	ErrNotFound        = &Error{Code: CodeNotFound}
	ErrAlreadyExists   = &Error{Code: CodeAlreadyExists}
	ErrInvalidState    = &Error{Code: CodeInvalidState}
	ErrSystem          = &Error{Code: CodeSystem}
	ErrUnsupported     = &Error{Code: CodeUnsupported}
	ErrInternal        = &Error{Code: CodeInternal}
	ErrClosed          = &Error{Code: CodeClosed}
)
