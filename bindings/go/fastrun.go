// Package fastrun runs OCI containers in-process through libfastrun, the C library of
// the fastrun runtime: no runtime binary is executed per operation.
//
// A Context holds the state root (like runc's --root) and the log sink; a Container is a
// loaded, validated configuration (from a bundle directory or from JSON in memory).
// Lifecycle methods on the Context take a container id, like the runc command line:
//
//	ctx, err := fastrun.NewContext(&fastrun.ContextOptions{Root: "/run/fastrun"})
//	if err != nil { ... }
//	defer ctx.Close()
//	c, err := fastrun.Load("/path/to/bundle")
//	if err != nil { ... }
//	defer c.Close()
//	status, err := ctx.Run("my-container", c, nil)
//
// Every error is an *Error carrying libfastrun's code, errno and message.
//
// Goroutines: Context and Container methods may be called from several goroutines at
// once; calls on one container id are serialised by libfastrun's file locks. Close
// waits for the calls in flight and later calls fail with ErrClosed.
//
// Processes: a container's init (Create, Run with Detach) and a detached exec'd
// process are children of this process; libfastrun owns them. Its reaper thread reaps
// each with waitid(P_PIDFD) as it exits (never another child: os/exec keeps working),
// and records an init's exit status, which Wait returns (any number of times, from any
// goroutine) and State shows as ExitStatus. Pidfd gives a pidfd on an init to poll. A
// detached Exec is reaped the same way unless CallerReaps is set. Run and Exec in the
// foreground wait for their process themselves. Go's SIGCHLD handler, a host that
// ignores SIGCHLD and one that reaps every child are all fine (Linux 6.15+ keeps the
// exit status for the pidfd). Run (in the foreground) blocks signals on its OS thread
// while it waits and forwards those it receives there; the Go runtime's threads do not
// block them, so in practice signals sent to the Go process are not forwarded (send
// them with Kill). Exec with TTY sends the pty master to ConsoleSocket, as runc.
//
// Building: cgo takes its flags from pkg-config (fastrun.pc, installed with the
// library: .ci/install-lib PREFIX), so the header and the library come from the same
// install: PKG_CONFIG_PATH=$PREFIX/lib/pkgconfig, and for a prefix outside the
// loader's path CGO_LDFLAGS="-Wl,-rpath,$PREFIX/lib". At init the package compares
// the library's version with the header's; NewContext refuses a mismatch
// (CheckVersion).
package fastrun

/*
#cgo pkg-config: fastrun
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "fastrun.h"

extern void fastrunGoLog(int level, char *msg, void *userdata);

static void fastrun_go_set_log(struct fastrun_context_options *o, uintptr_t handle)
{
	o->log_fn = (fastrun_log_fn) fastrunGoLog;
	o->log_userdata = (void *) handle;
}
*/
import "C"

import (
	"encoding/json"
	"fmt"
	"os"
	"runtime"
	"runtime/cgo"
	"strings"
	"sync"
	"syscall"
	"time"
	"unsafe"
)

// Version returns libfastrun's version, e.g. "0.1.0".
func Version() string {
	return C.GoString(C.fastrun_version())
}

// HeaderVersion is the version of the fastrun.h this package was built against.
const HeaderVersion = C.FASTRUN_VERSION_STRING

var versionErr = checkVersion(Version())

// checkVersion: the library must have the header's major version and at least its
// minor version (it may lack what a newer header declares).
func checkVersion(lib string) error {
	var major, minor, patch int
	if _, err := fmt.Sscanf(lib, "%d.%d.%d", &major, &minor, &patch); err != nil {
		return &Error{Op: "version", Code: CodeUnsupported, Message: "libfastrun version " + lib + " unreadable"}
	}
	if major != C.FASTRUN_VERSION_MAJOR || minor < C.FASTRUN_VERSION_MINOR {
		return &Error{Op: "version", Code: CodeUnsupported, Message: fmt.Sprintf(
			"libfastrun %s does not match fastrun.h %s this package was built with "+
				"(same major, at least the minor version needed)", lib, HeaderVersion)}
	}
	return nil
}

// CheckVersion reports whether the libfastrun loaded matches the header this package
// was built against (checked once, at init; NewContext fails with this error too).
func CheckVersion() error {
	return versionErr
}

// takeError turns a fastrun_error into an *Error (and frees it).
func takeError(op string, ret C.int, e *C.fastrun_error) error {
	if e == nil {
		return &Error{Op: op, Code: Code(-ret), Message: "no error details"}
	}
	defer C.fastrun_error_free(e)
	return &Error{
		Op:      op,
		Code:    Code(e.code),
		Errno:   syscall.Errno(e.errno_value),
		Message: C.GoString(e.message),
	}
}

// cstr makes a C string; a NUL inside s is an invalid argument (C would cut it there).
func cstr(op, name, s string) (*C.char, error) {
	if strings.IndexByte(s, 0) >= 0 {
		return nil, &Error{Op: op, Code: CodeInvalidArgument, Message: name + " contains a NUL byte"}
	}
	return C.CString(s), nil
}

// optCstr is cstr with "" meaning NULL.
func optCstr(op, name, s string) (*C.char, error) {
	if s == "" {
		return nil, nil
	}
	return cstr(op, name, s)
}

// cstrings frees the C strings it made.
type cstrings []*C.char

func (cs *cstrings) add(p *C.char) *C.char {
	if p != nil {
		*cs = append(*cs, p)
	}
	return p
}

func (cs cstrings) free() {
	for _, p := range cs {
		C.free(unsafe.Pointer(p))
	}
}

func cbool(b bool) C.int {
	if b {
		return 1
	}
	return 0
}

// ParseSignal parses a signal given as a number ("9"), a name ("KILL", "SIGKILL", any
// case) or "RTMIN+N".
func ParseSignal(name string) (syscall.Signal, error) {
	c, err := cstr("parse signal", "name", name)
	if err != nil {
		return 0, err
	}
	defer C.free(unsafe.Pointer(c))
	var e *C.fastrun_error
	n := C.fastrun_parse_signal(c, &e)
	if n < 0 {
		return 0, takeError("parse signal", n, e)
	}
	return syscall.Signal(n), nil
}

// takeString copies and frees a string libfastrun returned.
func takeString(s *C.char, n C.int) []byte {
	defer C.fastrun_string_free(s)
	return C.GoBytes(unsafe.Pointer(s), n)
}

// Features returns the OCI runtime features document (`fastrun features`) as JSON.
func Features() ([]byte, error) {
	var s *C.char
	var e *C.fastrun_error
	n := C.fastrun_features(&s, &e)
	if n < 0 {
		return nil, takeError("features", n, e)
	}
	return takeString(s, n), nil
}

// Spec returns the default config.json (`fastrun spec`), or its rootless variant.
func Spec(rootless bool) ([]byte, error) {
	var s *C.char
	var e *C.fastrun_error
	n := C.fastrun_spec(cbool(rootless), &s, &e)
	if n < 0 {
		return nil, takeError("spec", n, e)
	}
	return takeString(s, n), nil
}

// LogLevel is the level of a log line (libfastrun's FASTRUN_LOG_*).
type LogLevel int

// The log levels, most severe first.
const (
	LogError   LogLevel = 1
	LogWarning LogLevel = 2
	LogInfo    LogLevel = 3
	LogDebug   LogLevel = 4
)

// ContextOptions configures a Context. The zero value means: state root /run/fastrun,
// the cgroupfs driver, no logging.
type ContextOptions struct {
	Root          string // the state root (runc's --root); "" means /run/fastrun ($XDG_RUNTIME_DIR/fastrun rootless)
	SystemdCgroup bool   // use the systemd cgroup driver
	// LogLevel is the most verbose level delivered; 0 means LogWarning.
	LogLevel LogLevel
	// Logger receives the log lines (one per failed call at LogError, one per call at
	// LogDebug). It is called synchronously by the goroutine making a call, possibly
	// from several goroutines at once.
	Logger func(level LogLevel, msg string)
	// LogFile, when Logger is nil, is a file libfastrun appends JSON log lines to.
	LogFile string
	// Spawn selects how container processes are cloned; the zero value is SpawnAuto.
	Spawn SpawnMode
	// Trace, when set, is a file libfastrun appends one JSON line per step of each
	// create, start, run, exec and delete to (as `fastrun --trace FILE`).
	Trace string
}

// SpawnMode selects how libfastrun clones container processes.
type SpawnMode int

const (
	// SpawnAuto shares memory when the calling process is large (peak RSS of
	// 64 MiB or more), fork-like otherwise.
	SpawnAuto SpawnMode = C.FASTRUN_SPAWN_AUTO
	// SpawnFork copies the caller (copy-on-write); its cost grows with the
	// caller's touched memory.
	SpawnFork SpawnMode = C.FASTRUN_SPAWN_FORK
	// SpawnVM shares the caller's memory until the container process execs: the
	// start time does not depend on the caller's size. The Go runtime's signal
	// handlers never run in the child (it resets them before unblocking signals).
	SpawnVM SpawnMode = C.FASTRUN_SPAWN_VM
)

// Context is a libfastrun context: the state root, the cgroup driver and the log sink.
type Context struct {
	mu     sync.RWMutex
	ptr    *C.fastrun_context
	handle cgo.Handle // of the Logger, or 0
}

// NewContext creates a Context; release it with Close. opts may be nil.
func NewContext(opts *ContextOptions) (*Context, error) {
	const op = "new context"
	if versionErr != nil {
		return nil, versionErr
	}
	if opts == nil {
		opts = &ContextOptions{}
	}
	var strs cstrings
	defer strs.free()
	var o C.struct_fastrun_context_options
	o.struct_size = C.size_t(unsafe.Sizeof(o))
	root, err := optCstr(op, "root", opts.Root)
	if err != nil {
		return nil, err
	}
	o.root = strs.add(root)
	o.systemd_cgroup = cbool(opts.SystemdCgroup)
	o.log_level = C.int(opts.LogLevel)
	o.spawn_mode = C.int(opts.Spawn)
	trace, err := optCstr(op, "trace", opts.Trace)
	if err != nil {
		return nil, err
	}
	o.trace_file = strs.add(trace)
	c := &Context{}
	if opts.Logger != nil {
		c.handle = cgo.NewHandle(opts.Logger)
		C.fastrun_go_set_log(&o, C.uintptr_t(c.handle))
	} else {
		f, err := optCstr(op, "log file", opts.LogFile)
		if err != nil {
			return nil, err
		}
		o.log_file = strs.add(f)
	}
	var e *C.fastrun_error
	if n := C.fastrun_context_new(&o, &c.ptr, &e); n < 0 {
		if c.handle != 0 {
			c.handle.Delete()
		}
		return nil, takeError(op, n, e)
	}
	runtime.SetFinalizer(c, (*Context).Close)
	return c, nil
}

// Close releases the context (containers keep running). It waits for the calls in
// flight; later calls fail with ErrClosed. Closing twice is a no-op.
func (c *Context) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ptr != nil {
		C.fastrun_context_free(c.ptr)
		c.ptr = nil
		if c.handle != 0 {
			c.handle.Delete()
			c.handle = 0
		}
		runtime.SetFinalizer(c, nil)
	}
	return nil
}

// call runs f on the live context (shared lock) and turns a negative return into an
// *Error.
func (c *Context) call(op string, f func(ctx *C.fastrun_context, e **C.fastrun_error) C.int) (int, error) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	if c.ptr == nil {
		return 0, &Error{Op: op, Code: CodeClosed, Message: "the context is closed"}
	}
	var e *C.fastrun_error
	n := f(c.ptr, &e)
	if n < 0 {
		return 0, takeError(op, n, e)
	}
	return int(n), nil
}

// callID is call with the container id as a C string.
func (c *Context) callID(op, id string, f func(ctx *C.fastrun_context, id *C.char, e **C.fastrun_error) C.int) (int, error) {
	cid, err := cstr(op, "id", id)
	if err != nil {
		return 0, err
	}
	defer C.free(unsafe.Pointer(cid))
	return c.call(op, func(ctx *C.fastrun_context, e **C.fastrun_error) C.int {
		return f(ctx, cid, e)
	})
}

// Container is a loaded container configuration: the config JSON, validated, and the
// bundle directory its relative paths are resolved against. It is immutable; one
// Container may create any number of containers (with different ids).
type Container struct {
	mu  sync.RWMutex
	ptr *C.fastrun_container
}

func newContainer(ptr *C.fastrun_container) *Container {
	c := &Container{ptr: ptr}
	runtime.SetFinalizer(c, (*Container).Close)
	return c
}

// Load reads and validates bundle/config.json (once: later changes are not seen).
func Load(bundle string) (*Container, error) {
	const op = "load"
	b, err := cstr(op, "bundle", bundle)
	if err != nil {
		return nil, err
	}
	defer C.free(unsafe.Pointer(b))
	var ptr *C.fastrun_container
	var e *C.fastrun_error
	if n := C.fastrun_container_load(b, &ptr, &e); n < 0 {
		return nil, takeError(op, n, e)
	}
	return newContainer(ptr), nil
}

// LoadConfig validates config (a config.json document) and keeps a copy; bundle is the
// directory its relative paths (root.path, ...) are resolved against.
func LoadConfig(config []byte, bundle string) (*Container, error) {
	const op = "load config"
	b, err := cstr(op, "bundle", bundle)
	if err != nil {
		return nil, err
	}
	defer C.free(unsafe.Pointer(b))
	buf := C.CBytes(config)
	defer C.free(buf)
	var ptr *C.fastrun_container
	var e *C.fastrun_error
	if n := C.fastrun_container_load_from_memory((*C.char)(buf), C.size_t(len(config)), b, &ptr, &e); n < 0 {
		return nil, takeError(op, n, e)
	}
	return newContainer(ptr), nil
}

// Close releases the configuration (not the containers made from it). Closing twice is
// a no-op.
func (c *Container) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ptr != nil {
		C.fastrun_container_free(c.ptr)
		c.ptr = nil
		runtime.SetFinalizer(c, nil)
	}
	return nil
}

// CreateOptions are the options of Create and Run (the CLI's flags).
type CreateOptions struct {
	PidFile       string // write the init's host pid there (--pid-file)
	ConsoleSocket string // send the pty master there (--console-socket; required when process.terminal is true)
	PreserveFDs   uint32 // pass fds 3..3+N-1 of this process (--preserve-fds)
	NoPivot       bool   // MS_MOVE + chroot instead of pivot_root (--no-pivot)
	NoNewKeyring  bool   // no new session keyring (--no-new-keyring)
	Detach        bool   // Run only: return once the container runs (--detach)
	Keep          bool   // Run only: keep the state after the container exits (--keep)
}

func (o *CreateOptions) toC(op string, strs *cstrings) (*C.struct_fastrun_create_options, error) {
	if o == nil {
		return nil, nil
	}
	co := (*C.struct_fastrun_create_options)(C.calloc(1, C.size_t(unsafe.Sizeof(C.struct_fastrun_create_options{}))))
	strs.add((*C.char)(unsafe.Pointer(co)))
	co.struct_size = C.size_t(unsafe.Sizeof(*co))
	p, err := optCstr(op, "pid file", o.PidFile)
	if err != nil {
		return nil, err
	}
	co.pid_file = strs.add(p)
	s, err := optCstr(op, "console socket", o.ConsoleSocket)
	if err != nil {
		return nil, err
	}
	co.console_socket = strs.add(s)
	co.preserve_fds = C.uint32_t(o.PreserveFDs)
	co.no_pivot = cbool(o.NoPivot)
	co.no_new_keyring = cbool(o.NoNewKeyring)
	co.detach = cbool(o.Detach)
	co.keep = cbool(o.Keep)
	return co, nil
}

// createOrRun is Create and Run.
func (c *Context) createOrRun(op, id string, ctr *Container, opts *CreateOptions) (int, error) {
	if ctr == nil {
		return 0, &Error{Op: op, Code: CodeInvalidArgument, Message: "container is nil"}
	}
	var strs cstrings
	defer strs.free()
	co, err := opts.toC(op, &strs)
	if err != nil {
		return 0, err
	}
	ctr.mu.RLock()
	defer ctr.mu.RUnlock()
	if ctr.ptr == nil {
		return 0, &Error{Op: op, Code: CodeClosed, Message: "the container is closed"}
	}
	return c.callID(op, id, func(ctx *C.fastrun_context, cid *C.char, e **C.fastrun_error) C.int {
		if op == "create" {
			return C.fastrun_container_create(ctx, ctr.ptr, cid, co, e)
		}
		return C.fastrun_container_run(ctx, ctr.ptr, cid, co, e)
	})
}

// Create creates container id from ctr: its init is set up and waits for Start.
// It returns the init's host pid. opts may be nil.
func (c *Context) Create(id string, ctr *Container, opts *CreateOptions) (int, error) {
	return c.createOrRun("create", id, ctr, opts)
}

// Run creates and starts container id, waits for it and returns its exit status (128+N
// when killed by signal N); with opts.Detach it returns 0 once the container runs.
// opts may be nil.
func (c *Context) Run(id string, ctr *Container, opts *CreateOptions) (int, error) {
	return c.createOrRun("run", id, ctr, opts)
}

// Start lets created container id run its program.
func (c *Context) Start(id string) error {
	_, err := c.callID("start", id, func(ctx *C.fastrun_context, cid *C.char, e **C.fastrun_error) C.int {
		return C.fastrun_container_start(ctx, cid, e)
	})
	return err
}

// State is the OCI state of a container.
type State struct {
	OCIVersion  string            `json:"ociVersion"`
	ID          string            `json:"id"`
	Pid         int               `json:"pid"`    // host pid of the init; 0 once stopped
	Status      string            `json:"status"` // creating, created, running, paused or stopped
	Bundle      string            `json:"bundle"`
	Rootfs      string            `json:"rootfs"`
	Created     time.Time         `json:"created"`
	Owner       string            `json:"owner"`
	Annotations map[string]string `json:"annotations,omitempty"`
	// ExitStatus is the init's exit status (128+N for signal N) once stopped, when
	// the process that started it (libfastrun) recorded it; nil otherwise.
	ExitStatus *int `json:"exitStatus,omitempty"`
}

// Wait waits at most timeout (negative: no limit) for the init of container id to exit
// and returns its exit status (128+N when killed by signal N) and true, or false when
// the time ran out. Every call returns the same status, until the container is deleted.
// For a container this process did not start, only a status recorded already is
// returned (else ErrInvalidState).
func (c *Context) Wait(id string, timeout time.Duration) (int, bool, error) {
	ms := C.int(-1)
	if timeout >= 0 {
		t := timeout.Milliseconds()
		if t > 1<<31-1 {
			t = 1<<31 - 1
		}
		ms = C.int(t)
	}
	var status C.int
	n, err := c.callID("wait", id, func(ctx *C.fastrun_context, cid *C.char, e **C.fastrun_error) C.int {
		return C.fastrun_container_wait(ctx, cid, ms, &status, e)
	})
	if err != nil || n == 0 {
		return 0, false, err
	}
	return int(status), true, nil
}

// Pidfd returns a new pidfd on the init of container id (which this process started):
// it polls readable once the init has exited. The caller closes it and must not reap
// the init with it.
func (c *Context) Pidfd(id string) (*os.File, error) {
	fd, err := c.callID("pidfd", id, func(ctx *C.fastrun_context, cid *C.char, e **C.fastrun_error) C.int {
		return C.fastrun_container_pidfd(ctx, cid, e)
	})
	if err != nil {
		return nil, err
	}
	return os.NewFile(uintptr(fd), "pidfd:"+id), nil
}

// StateJSON returns the state of container id as libfastrun's JSON object.
func (c *Context) StateJSON(id string) ([]byte, error) {
	buf := make([]byte, 512)
	for {
		var needed C.size_t
		n, err := c.callID("state", id, func(ctx *C.fastrun_context, cid *C.char, e **C.fastrun_error) C.int {
			return C.fastrun_container_state(ctx, cid, (*C.char)(unsafe.Pointer(&buf[0])), C.size_t(len(buf)), &needed, e)
		})
		if err != nil {
			// The state grew between two calls: retry with the size needed.
			if fe, ok := err.(*Error); ok && fe.Code == CodeBufferTooSmall && int(needed) > len(buf) {
				buf = make([]byte, int(needed))
				continue
			}
			return nil, err
		}
		return buf[:n], nil
	}
}

// State returns the state of container id.
func (c *Context) State(id string) (*State, error) {
	j, err := c.StateJSON(id)
	if err != nil {
		return nil, err
	}
	var st State
	if err := json.Unmarshal(j, &st); err != nil {
		return nil, &Error{Op: "state", Code: CodeInternal, Message: "decode state: " + err.Error()}
	}
	return &st, nil
}

// List returns the states of every container under the context's root.
func (c *Context) List() ([]State, error) {
	var s *C.char
	n, err := c.call("list", func(ctx *C.fastrun_context, e **C.fastrun_error) C.int {
		r := C.fastrun_list(ctx, &s, e)
		if r < 0 {
			return r
		}
		return C.int(C.strlen(s))
	})
	if err != nil {
		return nil, err
	}
	j := takeString(s, C.int(n))
	var states []State
	if err := json.Unmarshal(j, &states); err != nil {
		return nil, &Error{Op: "list", Code: CodeInternal, Message: "decode list: " + err.Error()}
	}
	return states, nil
}

// Kill sends sig to the init of container id.
func (c *Context) Kill(id string, sig syscall.Signal) error {
	_, err := c.callID("kill", id, func(ctx *C.fastrun_context, cid *C.char, e **C.fastrun_error) C.int {
		return C.fastrun_container_kill(ctx, cid, C.int(sig), e)
	})
	return err
}

// KillAll sends sig to every process of container id.
func (c *Context) KillAll(id string, sig syscall.Signal) error {
	_, err := c.callID("kill", id, func(ctx *C.fastrun_context, cid *C.char, e **C.fastrun_error) C.int {
		return C.fastrun_container_kill_all(ctx, cid, C.int(sig), e)
	})
	return err
}

// Delete deletes container id (its cgroup and state); a running one only with force.
// With force, deleting a missing container succeeds.
func (c *Context) Delete(id string, force bool) error {
	_, err := c.callID("delete", id, func(ctx *C.fastrun_context, cid *C.char, e **C.fastrun_error) C.int {
		return C.fastrun_container_delete(ctx, cid, cbool(force), e)
	})
	return err
}

// Pause freezes every process of container id.
func (c *Context) Pause(id string) error {
	_, err := c.callID("pause", id, func(ctx *C.fastrun_context, cid *C.char, e **C.fastrun_error) C.int {
		return C.fastrun_container_pause(ctx, cid, e)
	})
	return err
}

// Resume thaws paused container id.
func (c *Context) Resume(id string) error {
	_, err := c.callID("resume", id, func(ctx *C.fastrun_context, cid *C.char, e **C.fastrun_error) C.int {
		return C.fastrun_container_resume(ctx, cid, e)
	})
	return err
}

// Update sets the resource limits of container id from an OCI LinuxResources JSON object.
func (c *Context) Update(id string, resources []byte) error {
	var buf unsafe.Pointer // nil resources: NULL, which libfastrun refuses
	if resources != nil {
		buf = C.CBytes(resources)
		defer C.free(buf)
	}
	_, err := c.callID("update", id, func(ctx *C.fastrun_context, cid *C.char, e **C.fastrun_error) C.int {
		return C.fastrun_container_update(ctx, cid, (*C.char)(buf), C.size_t(len(resources)), e)
	})
	return err
}

// Ps returns the host pids of every process of container id.
func (c *Context) Ps(id string) ([]int, error) {
	var pids *C.int32_t
	var count C.size_t
	_, err := c.callID("ps", id, func(ctx *C.fastrun_context, cid *C.char, e **C.fastrun_error) C.int {
		return C.fastrun_container_ps(ctx, cid, &pids, &count, e)
	})
	if err != nil {
		return nil, err
	}
	defer C.fastrun_pids_free(pids)
	out := make([]int, int(count))
	if count > 0 {
		for i, p := range unsafe.Slice((*int32)(unsafe.Pointer(pids)), int(count)) {
			out[i] = int(p)
		}
	}
	return out, nil
}

// ExecOptions are the options of Exec.
type ExecOptions struct {
	Args          []string // the command and its arguments (unless ProcessFile or Process is set)
	ProcessFile   string   // a file holding an OCI process object (--process)
	Process       []byte   // an OCI process object as JSON (an in-memory --process)
	Env           []string // KEY=VALUE entries added to the environment
	Cwd           string   // working directory ("" for the container's)
	User          string   // "UID" or "UID:GID" ("" for the container's user)
	ConsoleSocket string
	PidFile       string
	PreserveFDs   uint32
	TTY           bool
	Detach        bool
	NoNewPrivs    bool
	// CallerReaps (ExecDetached only): the caller owns the process and must reap it
	// through the pidfd ExecDetached returns; otherwise libfastrun reaps it when it exits.
	CallerReaps bool
}

// cArray makes a NULL-terminated C array of C strings (freed with strs).
func cArray(op, name string, v []string, strs *cstrings) (**C.char, error) {
	if len(v) == 0 {
		return nil, nil
	}
	size := unsafe.Sizeof((*C.char)(nil))
	arr := (**C.char)(C.calloc(C.size_t(len(v)+1), C.size_t(size)))
	strs.add((*C.char)(unsafe.Pointer(arr)))
	items := unsafe.Slice(arr, len(v)+1)
	for i, s := range v {
		p, err := cstr(op, name, s)
		if err != nil {
			return nil, err
		}
		items[i] = strs.add(p)
	}
	return arr, nil
}

// Exec runs a new process in container id and returns its exit status (128+N when
// killed by signal N), or with Detach its host pid once it runs.
func (c *Context) Exec(id string, opts *ExecOptions) (int, error) {
	n, _, err := c.exec(id, opts, false)
	return n, err
}

// ExecDetached runs a new process in container id and returns once it runs (Detach is
// implied): its host pid and a pidfd on it (closed by the caller). With CallerReaps the
// caller must reap it (e.g. unix.Waitid(P_PIDFD, ...)); without, libfastrun does and
// the pidfd is only for polling.
func (c *Context) ExecDetached(id string, opts *ExecOptions) (int, *os.File, error) {
	return c.exec(id, opts, true)
}

func (c *Context) exec(id string, opts *ExecOptions, detached bool) (int, *os.File, error) {
	const op = "exec"
	if opts == nil {
		return 0, nil, &Error{Op: op, Code: CodeInvalidArgument, Message: "options are nil"}
	}
	var strs cstrings
	defer strs.free()
	eo := (*C.struct_fastrun_exec_options)(C.calloc(1, C.size_t(unsafe.Sizeof(C.struct_fastrun_exec_options{}))))
	strs.add((*C.char)(unsafe.Pointer(eo)))
	eo.struct_size = C.size_t(unsafe.Sizeof(*eo))
	var err error
	if eo.args, err = cArray(op, "args", opts.Args, &strs); err != nil {
		return 0, nil, err
	}
	if eo.env, err = cArray(op, "env", opts.Env, &strs); err != nil {
		return 0, nil, err
	}
	for _, f := range []struct {
		dst  **C.char
		name string
		val  string
	}{
		{&eo.process_file, "process file", opts.ProcessFile},
		{&eo.cwd, "cwd", opts.Cwd},
		{&eo.user, "user", opts.User},
		{&eo.console_socket, "console socket", opts.ConsoleSocket},
		{&eo.pid_file, "pid file", opts.PidFile},
	} {
		p, err := optCstr(op, f.name, f.val)
		if err != nil {
			return 0, nil, err
		}
		*f.dst = strs.add(p)
	}
	if opts.Process != nil {
		p := (*C.char)(C.CBytes(opts.Process))
		strs.add(p)
		eo.process_json = p
		eo.process_json_len = C.size_t(len(opts.Process))
	}
	eo.preserve_fds = C.uint32_t(opts.PreserveFDs)
	eo.tty = cbool(opts.TTY)
	eo.detach = cbool(opts.Detach || detached)
	eo.no_new_privs = cbool(opts.NoNewPrivs)
	eo.caller_reaps = cbool(opts.CallerReaps && detached) // Exec gives no pidfd to reap with
	pidfd := (*C.int)(C.malloc(C.size_t(unsafe.Sizeof(C.int(0)))))
	strs.add((*C.char)(unsafe.Pointer(pidfd)))
	*pidfd = -1
	if eo.detach != 0 {
		eo.pidfd = pidfd
	}
	n, err := c.callID(op, id, func(ctx *C.fastrun_context, cid *C.char, e **C.fastrun_error) C.int {
		return C.fastrun_container_exec(ctx, cid, eo, e)
	})
	if err != nil {
		return 0, nil, err
	}
	var f *os.File
	if *pidfd >= 0 {
		f = os.NewFile(uintptr(*pidfd), "pidfd")
		if !detached {
			f.Close()
			f = nil
		}
	}
	return n, f, nil
}

// Stats returns one sample of the statistics of container id, as the line
// `fastrun events --stats` (and runc) prints: {"type":"stats","id":...,"data":{...}}.
func (c *Context) Stats(id string) ([]byte, error) {
	var s *C.char
	n, err := c.callID("stats", id, func(ctx *C.fastrun_context, cid *C.char, e **C.fastrun_error) C.int {
		return C.fastrun_container_stats(ctx, cid, &s, e)
	})
	if err != nil {
		return nil, err
	}
	return takeString(s, C.int(n)), nil
}

// Event is what Events.Next returns.
type Event int

// The events of a container.
const (
	EventNone Event = C.FASTRUN_EVENT_NONE // nothing new
	EventExit Event = C.FASTRUN_EVENT_EXIT // the init exited (once; Wait then returns at once)
	EventOOM  Event = C.FASTRUN_EVENT_OOM  // the OOM killer killed a process (one per kill)
)

// Events reports a container's exit and OOM kills through one pollable fd, for an
// event loop. Not for concurrent use by several goroutines.
type Events struct {
	ptr *C.fastrun_events
}

// OpenEvents opens the events of container id, which this process started.
func (c *Context) OpenEvents(id string) (*Events, error) {
	var ev *C.fastrun_events
	_, err := c.callID("events", id, func(ctx *C.fastrun_context, cid *C.char, e **C.fastrun_error) C.int {
		return C.fastrun_events_open(ctx, cid, &ev, e)
	})
	if err != nil {
		return nil, err
	}
	evs := &Events{ptr: ev}
	runtime.SetFinalizer(evs, (*Events).Close)
	return evs, nil
}

// Fd is the descriptor to poll (readable while Next has an event); owned by Events.
func (e *Events) Fd() int {
	return int(C.fastrun_events_fd(e.ptr))
}

// Next returns the next event without blocking (EventNone when there is none).
func (e *Events) Next() (Event, error) {
	if e.ptr == nil {
		return EventNone, &Error{Op: "events", Code: CodeClosed, Message: "the events are closed"}
	}
	var ce *C.fastrun_error
	n := C.fastrun_events_next(e.ptr, &ce)
	if n < 0 {
		return EventNone, takeError("events", n, ce)
	}
	return Event(n), nil
}

// Close releases the events' descriptors. Closing twice is a no-op.
func (e *Events) Close() error {
	if e.ptr != nil {
		C.fastrun_events_free(e.ptr)
		e.ptr = nil
		runtime.SetFinalizer(e, nil)
	}
	return nil
}
