/*
 * libfastrun: the fastrun OCI container engine as a C library.
 * Link with -lfastrun (pkg-config fastrun); soname libfastrun.so.0.
 *
 * Errors. A function that can fail takes a last `fastrun_error **err`
 * out-parameter and returns a negative value, -FASTRUN_E_*, on failure; then,
 * when err is not NULL, it stores a new error in *err (code, errno_value,
 * message) that the caller releases with fastrun_error_free(). Values >= 0 mean
 * success and leave *err untouched. NULL pointers, invalid UTF-8 (ids, JSON,
 * argument strings; paths may be any bytes), too-small buffers, unknown
 * signals, bad struct_size values and invalid configs are reported this way,
 * never by a crash. A Rust panic never crosses the boundary: it becomes
 * FASTRUN_E_INTERNAL (in builds with panic=unwind, which `.ci/install-lib`
 * makes; a panic=abort build aborts instead). Nothing is printed on the host's
 * stdin/stdout/stderr: messages go to the context's log sink only.
 *
 * Memory. Handles (contexts, containers), errors, strings and pid arrays
 * returned by the library are released with the matching fastrun_*_free();
 * freeing NULL is a no-op. Strings and pid arrays are allocated with malloc(3).
 * Input strings and buffers are only read during the call.
 *
 * Versioned structs. fastrun_context_options, fastrun_create_options and
 * fastrun_exec_options start with `size_t struct_size`: zero-initialise the
 * struct and set struct_size = sizeof(struct ...). Fields added later go at the
 * end; an older library refuses a newer struct only when fields it does not
 * know are non-zero (FASTRUN_E_UNSUPPORTED).
 *
 * Threads. Every function is thread-safe unless its comment says otherwise
 * (the *_free functions must not race with calls using the same handle). A
 * context may be shared by threads; calls on one container are serialised by
 * file locks under the state root. The clone that makes a container's init
 * runs no allocator and takes no lock, so it is safe in multi-threaded hosts.
 * No function is async-signal-safe; none may be called in a child between
 * fork() and exec().
 *
 * Fds. Every fd libfastrun opens is O_CLOEXEC and closed before the call
 * returns, except the log file of a context (closed by fastrun_context_free),
 * the fds of a fastrun_events handle (closed by fastrun_events_free), the fds
 * returned to the caller (pidfds), and the reaper's (see Processes): one eventfd
 * for the life of the process once it owns a child, and one pidfd per owned
 * process until it is reaped.
 * A container's init inherits the caller's fds 0, 1, 2 and, with preserve_fds
 * = N, 3 .. 3+N-1; every other fd is closed in the container.
 *
 * Processes. A container's init (fastrun_container_create, a detached
 * fastrun_container_run) and a detached exec'd process are children of the
 * calling process, and libfastrun owns them: one reaper thread per process
 * (started with the first such child) polls their pidfds and reaps each with
 * waitid(P_PIDFD) as it exits; it never waits for any other child (no
 * wait(-1)), so the host's own children stay the host's. An init's exit status
 * is recorded then: fastrun_container_wait returns it (every call, any thread,
 * any context on the root) and fastrun_container_state shows it as
 * "exitStatus"; fastrun_container_pidfd gives a pidfd to poll from an event
 * loop. A detached exec'd process is reaped the same way, its status dropped,
 * unless the caller sets caller_reaps (then the caller must reap it; until it
 * does, a container with its own pid namespace cannot stop). A foreground run
 * or exec waits for and reaps its process itself. This works whether the host
 * ignores SIGCHLD (SIG_IGN, SA_NOCLDWAIT: the kernel reaps the children), blocks
 * it, or has a handler, even one that reaps every child with waitpid(-1): the
 * kernel keeps the exit status for pidfd holders (Linux 6.15+; on an older
 * kernel such a host makes the status unknown, reported as 255). Beyond such a
 * waitpid(-1) loop, a host should not wait for the processes libfastrun owns.
 *
 * ABI policy. Within one major version (the soname libfastrun.so.N and
 * FASTRUN_VERSION_MAJOR), a program built against an older header keeps
 * working: functions and constants are only added, versioned structs only grow
 * at the end (see above), the meaning of existing fields, return values and
 * error codes does not change, and new error codes may appear only where the
 * comment allows (messages are not part of the ABI). Every incompatible change
 * bumps the major version and the soname. Exported symbols carry the version
 * node FASTRUN_0 (the symbol version script). Compare FASTRUN_VERSION_* (the
 * header) with fastrun_version() (the library) to detect a mismatch.
 *
 * Undefined behaviour (not detected): using a handle, error or string after it
 * was freed, freeing it twice or with the wrong function, passing pointers that
 * do not point to what the comment says (a struct shorter than its
 * struct_size, a buffer shorter than its size, a string without its NUL),
 * modifying a container handle's memory, and a log callback that does not
 * return normally (longjmp, C++ exception).
 *
 * SPDX-License-Identifier: Apache-2.0
 */

#ifndef FASTRUN_H
#define FASTRUN_H

/* Generated by cbindgen from ffi/src/lib.rs: do not edit. Regenerate with `FASTRUN_UPDATE_HEADER=1 cargo build`. */

#include <stddef.h>
#include <stdint.h>

/** The version of this header (libfastrun's is fastrun_version()). */
#define FASTRUN_VERSION_MAJOR 0
#define FASTRUN_VERSION_MINOR 1
#define FASTRUN_VERSION_PATCH 0
#define FASTRUN_VERSION_STRING "0.1.0"

/**
 * The configuration (config.json, process.json, resources) is invalid; the message
 * names the JSON path.
 */
#define FASTRUN_E_INVALID_CONFIG 1

/**
 * An argument is invalid (bad id, unknown signal, NULL pointer, invalid UTF-8, bad
 * struct_size, ...).
 */
#define FASTRUN_E_INVALID_ARGUMENT 2

/**
 * No container with this id exists.
 */
#define FASTRUN_E_NOT_FOUND 3

/**
 * A container with this id already exists.
 */
#define FASTRUN_E_ALREADY_EXISTS 4

/**
 * The container is not in a state that allows the operation.
 */
#define FASTRUN_E_INVALID_STATE 5

/**
 * A system call failed; `errno_value` holds its errno.
 */
#define FASTRUN_E_SYSTEM 6

/**
 * The operation is not supported by this build or this machine (or not implemented
 * yet by the engine: the message then says "not implemented yet").
 */
#define FASTRUN_E_UNSUPPORTED 7

/**
 * An internal error (a bug, or a panic caught at the boundary).
 */
#define FASTRUN_E_INTERNAL 8

/**
 * The caller's buffer is too small; the size needed was stored in `*needed`
 * (`errno_value` is ERANGE).
 */
#define FASTRUN_E_BUFFER_TOO_SMALL 9

/**
 * Log level of errors (the message of every failed call).
 */
#define FASTRUN_LOG_ERROR 1

/**
 * Log level of warnings.
 */
#define FASTRUN_LOG_WARNING 2

/**
 * Log level of informational messages.
 */
#define FASTRUN_LOG_INFO 3

/**
 * Log level of debug messages (one line per call, with its arguments).
 */
#define FASTRUN_LOG_DEBUG 4

/**
 * Spawn mode: shared memory when the calling process is large (peak RSS of 64 MiB
 * or more), fork-like otherwise.
 */
#define FASTRUN_SPAWN_AUTO 0

/**
 * Spawn mode: fork-like clone (the child gets a copy-on-write copy of the caller;
 * its cost grows with the memory the caller has touched).
 */
#define FASTRUN_SPAWN_FORK 1

/**
 * Spawn mode: vfork-style clone (the child shares the caller's memory until its
 * exec, so the cost does not depend on the caller's size). Per spawn, a helper
 * thread lives until the container process has exec'd (for `create`: until
 * `start`), and the caller is non-dumpable during that time. Falls back to
 * fork-like for a time namespace and for an unprivileged caller writing id maps.
 * libfastrun must stay loaded while a created container has not started.
 */
#define FASTRUN_SPAWN_VM 2

/**
 * `fastrun_events_next`: nothing new.
 */
#define FASTRUN_EVENT_NONE 0

/**
 * `fastrun_events_next`: the container's init has exited (reported once; then
 * `fastrun_container_wait` returns its status at once).
 */
#define FASTRUN_EVENT_EXIT 1

/**
 * `fastrun_events_next`: the OOM killer killed a process of the container (one event
 * per kill counted by the cgroup).
 */
#define FASTRUN_EVENT_OOM 2

/**
 * A loaded container configuration: the config JSON (validated) and the absolute
 * bundle directory its relative paths are resolved against. Create it with
 * `fastrun_container_load` or `fastrun_container_load_from_memory`, release it with
 * `fastrun_container_free`. Immutable once loaded. Opaque.
 */
typedef struct fastrun_container fastrun_container;

/**
 * A context: the state root, the cgroup driver and the log sink. Create it with
 * `fastrun_context_new`, release it with `fastrun_context_free`. Opaque.
 */
typedef struct fastrun_context fastrun_context;

/**
 * Events of one container for a host's own event loop: create it with
 * `fastrun_events_open`, poll `fastrun_events_fd`, read with `fastrun_events_next`,
 * release with `fastrun_events_free`. Opaque.
 */
typedef struct fastrun_events fastrun_events;

/**
 * An error returned through a `fastrun_error **` out-parameter.
 * Release it with `fastrun_error_free`.
 */
typedef struct fastrun_error {
  /**
   * One of the `FASTRUN_E_*` codes (positive).
   */
  int32_t code;
  /**
   * The errno behind the error, or 0.
   */
  int32_t errno_value;
  /**
   * A NUL-terminated, human-readable message (owned by the error).
   */
  char *message;
} fastrun_error;

/**
 * A log sink: called synchronously, on the thread that made the libfastrun call, with a
 * `FASTRUN_LOG_*` level and a NUL-terminated message valid only during the call.
 * Calls from several threads may run concurrently. The callback must return normally
 * (no longjmp, no C++ exception) and may call libfastrun.
 */
typedef void (*fastrun_log_fn)(int level, const char *msg, void *userdata);

/**
 * Options of `fastrun_context_new`. Zero-initialise it, then set `struct_size` to
 * `sizeof(struct fastrun_context_options)`: the size tells the library which fields
 * the caller knows, so that later versions can add fields at the end.
 */
typedef struct fastrun_context_options {
  /**
   * `sizeof(struct fastrun_context_options)` as the caller compiled it.
   */
  size_t struct_size;
  /**
   * The state root, one directory per container (runc's `--root`). NULL: `/run/fastrun`,
   * or `$XDG_RUNTIME_DIR/fastrun` rootless (as the CLI and runc decide).
   */
  const char *root;
  /**
   * Non-zero: use the systemd cgroup driver (`--systemd-cgroup`).
   */
  int systemd_cgroup;
  /**
   * The most verbose `FASTRUN_LOG_*` level delivered; 0 means `FASTRUN_LOG_WARNING`.
   */
  int log_level;
  /**
   * A log callback (see `fastrun_log_fn`), or NULL.
   */
  fastrun_log_fn log_fn;
  /**
   * Passed as is to `log_fn`.
   */
  void *log_userdata;
  /**
   * When `log_fn` is NULL: a file to append JSON log lines to (as runc's
   * `--log-format json`), opened once by `fastrun_context_new`. NULL: no logging.
   */
  const char *log_file;
  /**
   * How container processes are cloned: a `FASTRUN_SPAWN_*` value (0: auto).
   */
  int spawn_mode;
  /**
   * A file to append one JSON line per step of each create, start, run, exec and
   * delete to, as `fastrun --trace FILE` (the step, who made it (`runtime` or
   * `init`), its start in µs since the operation began and its duration in µs;
   * a last `total` line per operation). NULL: no trace. A caller whose struct
   * ends before this field gets no trace.
   */
  const char *trace_file;
} fastrun_context_options;

/**
 * Options of `fastrun_container_create` and `fastrun_container_run` (the CLI's flags).
 * Zero-initialise it and set `struct_size`; a NULL pointer means all defaults.
 */
typedef struct fastrun_create_options {
  /**
   * `sizeof(struct fastrun_create_options)` as the caller compiled it.
   */
  size_t struct_size;
  /**
   * Write the init's host pid there, atomically (`--pid-file`). Relative paths are
   * resolved against the calling process's current directory.
   */
  const char *pid_file;
  /**
   * A unix socket to send the pty master to (`--console-socket`): required when the
   * config's `process.terminal` is true (the pty master is sent there with
   * SCM_RIGHTS, as runc does), refused when it is false.
   */
  const char *console_socket;
  /**
   * Pass the caller's fds 3 .. 3+preserve_fds-1 into the container (`--preserve-fds`).
   */
  uint32_t preserve_fds;
  /**
   * Non-zero: MS_MOVE + chroot instead of pivot_root (`--no-pivot`).
   */
  int no_pivot;
  /**
   * Non-zero: do not create a session keyring (`--no-new-keyring`).
   */
  int no_new_keyring;
  /**
   * `fastrun_container_run` only, non-zero: return once the container runs
   * (`--detach`) instead of waiting for it.
   */
  int detach;
  /**
   * `fastrun_container_run` only, non-zero: keep the container's state after it
   * exits (`--keep`).
   */
  int keep;
} fastrun_create_options;

/**
 * Options of `fastrun_container_exec`. Zero-initialise it and set `struct_size`.
 */
typedef struct fastrun_exec_options {
  /**
   * `sizeof(struct fastrun_exec_options)` as the caller compiled it.
   */
  size_t struct_size;
  /**
   * The command and its arguments: a NULL-terminated array of UTF-8 strings.
   * Required unless `process_file` or `process_json` is set.
   */
  const char *const *args;
  /**
   * A file holding an OCI `process` object (`--process`); `args` is then ignored
   * (`process_json`, when set, wins over it).
   */
  const char *process_file;
  /**
   * `KEY=VALUE` entries added to the environment: NULL-terminated, or NULL.
   */
  const char *const *env;
  /**
   * The working directory, or NULL for the container's.
   */
  const char *cwd;
  /**
   * `"UID"` or `"UID:GID"` to run as, or NULL for the container's user.
   */
  const char *user;
  /**
   * A unix socket to send the pty master to (`--console-socket`), or NULL.
   */
  const char *console_socket;
  /**
   * Write the process's host pid there (`--pid-file`), or NULL.
   */
  const char *pid_file;
  /**
   * Pass the caller's fds 3 .. 3+preserve_fds-1 into the process.
   */
  uint32_t preserve_fds;
  /**
   * Non-zero: allocate a pty (`--tty`).
   */
  int tty;
  /**
   * Non-zero: return once the process runs (`--detach`).
   */
  int detach;
  /**
   * Non-zero: set no_new_privs (`--no-new-privs`).
   */
  int no_new_privs;
  /**
   * With `detach`, non-zero: the caller owns the process and must reap it (e.g.
   * `waitid(P_PIDFD)` on the pidfd stored in `*pidfd`); until it does, the process
   * stays a zombie, and a container with its own pid namespace cannot stop. Zero:
   * libfastrun reaps it when it exits. A caller whose struct ends before this
   * field gets zero.
   */
  int caller_reaps;
  /**
   * With `detach`: when not NULL, receives a new pidfd (close-on-exec) on the
   * process, which the caller closes (with `caller_reaps` zero it may poll it, but
   * must not reap the process).
   */
  int *pidfd;
  /**
   * An OCI `process` object as `process_json_len` bytes of JSON (no NUL needed),
   * instead of `process_file` or `args` (as the CLI's `--process`: capabilities,
   * additional gids, rlimits, env, ...). NULL: unused.
   */
  const char *process_json;
  /**
   * The length of `process_json`.
   */
  size_t process_json_len;
} fastrun_exec_options;

#ifdef __cplusplus
extern "C" {
#endif // __cplusplus

/**
 * The version of libfastrun, e.g. `"0.1.0"`: a static NUL-terminated string that the
 * caller must not free. Thread-safe.
 */
const char *fastrun_version(void);

/**
 * Release an error stored by a libfastrun function. NULL is a no-op. Thread-safe.
 *
 * # Safety
 * `err` is NULL or a pointer that a libfastrun function stored in an out-parameter
 * and that was not freed yet.
 */
void fastrun_error_free(struct fastrun_error *err);

/**
 * Release a string returned by libfastrun (state, list, features, spec). NULL is a
 * no-op. Thread-safe. The string was allocated with malloc(3), so free(3) works too.
 *
 * # Safety
 * `s` is NULL or a string that libfastrun returned and that was not freed yet.
 */
void fastrun_string_free(char *s);

/**
 * Release a pid array returned by `fastrun_container_ps`. NULL is a no-op. Thread-safe.
 *
 * # Safety
 * `pids` is NULL or an array that `fastrun_container_ps` returned, not freed yet.
 */
void fastrun_pids_free(int32_t *pids);

/**
 * Parse a signal given as a number (`"9"`), a name (`"KILL"`, `"SIGKILL"`, any case)
 * or `"RTMIN+N"`. Returns the signal number (1..64), or `-FASTRUN_E_INVALID_ARGUMENT`
 * with `*err` set. Thread-safe; opens no fd.
 *
 * # Safety
 * `name` is NULL or a valid NUL-terminated string; `err` is NULL or valid for writing
 * one pointer.
 */
int fastrun_parse_signal(const char *name, struct fastrun_error **err);

/**
 * Create a context and store it in `*out`. `opts` may be NULL (defaults: root
 * `/run/fastrun`, or `$XDG_RUNTIME_DIR/fastrun` when rootless as the CLI decides;
 * cgroupfs driver, no logging). Returns 0.
 *
 * Fds: with `log_file`, the file stays open (O_APPEND, O_CLOEXEC) until
 * `fastrun_context_free`; nothing else is kept open.
 *
 * Thread safety: a context may be used by several threads at once; calls on
 * different containers run in parallel, calls on the same container are serialised by
 * the engine's file locks under the state root (or fail cleanly, e.g. two creates of
 * one id: one gets FASTRUN_E_ALREADY_EXISTS).
 *
 * # Safety
 * `opts` is NULL or a valid options struct of `opts->struct_size` bytes whose strings
 * are valid; `out` and `err` are valid for writing one pointer (`err` may be NULL).
 */
int fastrun_context_new(const struct fastrun_context_options *opts,
                        struct fastrun_context **out,
                        struct fastrun_error **err);

/**
 * Release a context (closing its log file). Containers keep running: their state
 * stays under the root, and another context (or the fastrun CLI) can manage them.
 * The processes libfastrun owns are still reaped when they exit (the reaper is the
 * process's, not the context's), and `fastrun_container_wait` on a new context with
 * the same root still returns their exit status. NULL is a no-op.
 *
 * Must not run concurrently with another call on the same context.
 *
 * # Safety
 * `ctx` is NULL or a context from `fastrun_context_new` not freed yet.
 */
void fastrun_context_free(struct fastrun_context *ctx);

/**
 * Load `<bundle>/config.json`, validate it, and store the container in `*out`.
 * The file is read once, now: later changes to it are not seen. Returns 0.
 * Errors: FASTRUN_E_SYSTEM (unreadable file, with errno), FASTRUN_E_INVALID_CONFIG
 * (the message names the JSON path, or the line and column of a syntax error).
 *
 * Thread-safe; the file's fd is closed before returning.
 *
 * # Safety
 * `bundle` is NULL or a valid NUL-terminated string; `out` is valid for writing one
 * pointer; `err` is NULL or valid for writing one pointer.
 */
int fastrun_container_load(const char *bundle,
                           struct fastrun_container **out,
                           struct fastrun_error **err);

/**
 * Validate a config given as `len` bytes of JSON (no NUL needed) and store the
 * container in `*out`; `bundle` is the directory relative paths in it (`root.path`,
 * mount sources) are resolved against. The bytes are copied. Returns 0.
 *
 * Thread-safe; opens no fd.
 *
 * # Safety
 * `config` is valid for reading `len` bytes; `bundle` is NULL or a valid
 * NUL-terminated string; `out` is valid for writing one pointer; `err` is NULL or
 * valid for writing one pointer.
 */
int fastrun_container_load_from_memory(const char *config,
                                       size_t len,
                                       const char *bundle,
                                       struct fastrun_container **out,
                                       struct fastrun_error **err);

/**
 * Release a loaded container (not the running container: only its configuration).
 * NULL is a no-op. Must not run concurrently with a call using it.
 *
 * # Safety
 * `container` is NULL or a container from `fastrun_container_load*` not freed yet.
 */
void fastrun_container_free(struct fastrun_container *container);

/**
 * Create container `id` from `container`: its init exists, set up, and waits before
 * the user program until `fastrun_container_start`. Returns the init's host pid.
 *
 * The init is a child of the calling process and inherits its stdin, stdout and stderr
 * (and fds 3 .. 3+preserve_fds-1). libfastrun owns it: see "Processes" at the top of
 * this header (it is reaped when it exits, and `fastrun_container_wait` returns its
 * exit status).
 *
 * Fds: every fd the call opens is O_CLOEXEC and closed before it returns; in the
 * container, fds above 2+preserve_fds are closed. Thread-safe (the child of the clone
 * runs no allocator and takes no lock, so other threads of the host may hold any).
 *
 * # Safety
 * `ctx` and `container` are NULL or live handles; `id` is NULL or a valid string;
 * `opts` is NULL or a valid options struct; `err` is NULL or valid for writing.
 */
int fastrun_container_create(struct fastrun_context *ctx,
                             const struct fastrun_container *container,
                             const char *id,
                             const struct fastrun_create_options *opts,
                             struct fastrun_error **err);

/**
 * Create and start container `id`, then wait for it and return its exit status
 * (128+N when killed by signal N); with `opts->detach`, return 0 once it runs.
 * Without `opts->keep`, a waited-for container is deleted when it exits.
 *
 * While waiting, the calling thread blocks the forwardable signals and forwards those
 * it receives to the container (its mask is restored before returning): only signals
 * the host directs at this thread, or that every other thread blocks, are forwarded.
 *
 * Fds and children: as `fastrun_container_create`; a waited-for init is reaped here
 * (also when the host ignores SIGCHLD or reaps its children itself, on Linux 6.15+).
 * A detached init is owned as after `fastrun_container_create`. Thread-safe.
 *
 * # Safety
 * As `fastrun_container_create`.
 */
int fastrun_container_run(struct fastrun_context *ctx,
                          const struct fastrun_container *container,
                          const char *id,
                          const struct fastrun_create_options *opts,
                          struct fastrun_error **err);

/**
 * Let created container `id` run its program. Returns 0. Thread-safe; no fd kept.
 *
 * # Safety
 * `ctx` is NULL or live; `id` is NULL or a valid string; `err` is NULL or valid.
 */
int fastrun_container_start(struct fastrun_context *ctx,
                            const char *id,
                            struct fastrun_error **err);

/**
 * The state of container `id` as a compact JSON object (`ociVersion`, `id`, `pid`,
 * `status`, `bundle`, `rootfs`, `created`, `owner`, `annotations`), NUL-terminated,
 * into `buf` of `size` bytes. Returns the JSON's length (without the NUL).
 *
 * `*needed` (when `needed` is not NULL) receives the size the JSON needs, NUL
 * included, on success and when `buf` is too small; then the call fails with
 * FASTRUN_E_BUFFER_TOO_SMALL and `buf` is untouched. `buf` may be NULL when `size`
 * is 0 (to ask for the size). The size can change between two calls (the status and
 * pid change): retry while FASTRUN_E_BUFFER_TOO_SMALL.
 *
 * Thread-safe; no fd kept.
 *
 * # Safety
 * `ctx` is NULL or live; `id` is NULL or a valid string; `buf` is NULL or valid for
 * writing `size` bytes; `needed` is NULL or valid; `err` is NULL or valid.
 */
int fastrun_container_state(struct fastrun_context *ctx,
                            const char *id,
                            char *buf,
                            size_t size,
                            size_t *needed,
                            struct fastrun_error **err);

/**
 * As `fastrun_container_state`, into a new string stored in `*json` (release it with
 * `fastrun_string_free`). Returns its length.
 *
 * # Safety
 * `ctx` is NULL or live; `id` is NULL or a valid string; `json` is valid for writing
 * one pointer; `err` is NULL or valid.
 */
int fastrun_container_state_alloc(struct fastrun_context *ctx,
                                  const char *id,
                                  char **json,
                                  struct fastrun_error **err);

/**
 * Send `signal` (1..64) to the init of container `id`. Returns 0.
 * Errors: FASTRUN_E_INVALID_STATE when it does not run. Thread-safe; the pidfd used
 * is closed before returning.
 *
 * # Safety
 * `ctx` is NULL or live; `id` is NULL or a valid string; `err` is NULL or valid.
 */
int fastrun_container_kill(struct fastrun_context *ctx,
                           const char *id,
                           int signal,
                           struct fastrun_error **err);

/**
 * Send `signal` (1..64) to every process of container `id` (`kill --all`), also after
 * its init exited. Returns 0. Thread-safe; no fd kept.
 *
 * # Safety
 * As `fastrun_container_kill`.
 */
int fastrun_container_kill_all(struct fastrun_context *ctx,
                               const char *id,
                               int signal,
                               struct fastrun_error **err);

/**
 * Delete container `id`: its cgroup and state. A created container is killed first;
 * a running or paused one only with `force` non-zero (else FASTRUN_E_INVALID_STATE).
 * With `force`, deleting a missing container succeeds. Waits (up to 10 s) for a killed
 * init to exit (libfastrun's reaper reaps the processes it owns, exec'd ones included,
 * so none of them holds the init back; a detached exec'd process with `caller_reaps`
 * that its caller has not reaped does, in a container with its own pid namespace: the
 * container stays running, and a forced delete fails with FASTRUN_E_INVALID_STATE
 * after the 10 s). Returns 0. After it, `fastrun_container_wait` on the id fails with
 * FASTRUN_E_NOT_FOUND. Thread-safe; no fd kept.
 *
 * # Safety
 * `ctx` is NULL or live; `id` is NULL or a valid string; `err` is NULL or valid.
 */
int fastrun_container_delete(struct fastrun_context *ctx,
                             const char *id,
                             int force,
                             struct fastrun_error **err);

/**
 * Wait for the init of container `id` to exit, at most `timeout_ms` milliseconds (-1:
 * no limit; 0: only check). Returns 1 once it has exited, with its exit status (128+N
 * when killed by signal N) stored in `*status`; 0 when the time ran out first.
 *
 * The status is recorded when the init exits, by libfastrun's reaper, whoever waits:
 * every call returns the same status, from any context on the same root, until the
 * container is deleted; `fastrun_container_state` shows it as `"exitStatus"`. For a
 * container this process did not start (another process, the CLI), only a status
 * recorded already is returned, else FASTRUN_E_INVALID_STATE. FASTRUN_E_NOT_FOUND
 * once deleted. Thread-safe: any number of threads may wait for one container.
 *
 * # Safety
 * `ctx` is NULL or live; `id` is NULL or a valid string; `status` is valid for
 * writing one int; `err` is NULL or valid.
 */
int fastrun_container_wait(struct fastrun_context *ctx,
                           const char *id,
                           int timeout_ms,
                           int *status,
                           struct fastrun_error **err);

/**
 * A new pidfd (close-on-exec) on the init of container `id`, which this process
 * started (`fastrun_container_create` or a detached `fastrun_container_run`): poll it
 * (POLLIN once the init has exited, then `fastrun_container_wait` returns at once) from
 * the host's own event loop. Returns the fd; the caller closes it. It must not be used
 * to reap the init (libfastrun does). Thread-safe.
 *
 * # Safety
 * `ctx` is NULL or live; `id` is NULL or a valid string; `err` is NULL or valid.
 */
int fastrun_container_pidfd(struct fastrun_context *ctx,
                            const char *id,
                            struct fastrun_error **err);

/**
 * Run a new process in running container `id` (as `fastrun exec`); returns its exit
 * status (128+N when killed by signal N), or with `opts->detach` its host pid once it
 * runs. `opts` is required (`args`, `process_file` or `process_json`).
 *
 * The process is a child of the calling process. Without `detach` it is waited for
 * and reaped here (signals are forwarded as by `fastrun_container_run`). With
 * `detach`, libfastrun reaps it when it exits unless `opts->caller_reaps` is set (see
 * "Processes" at the top of this header); its exit status is not kept. With
 * `opts->tty`, the pty master goes to `opts->console_socket` (required when detached).
 * Thread-safe.
 *
 * # Safety
 * `ctx` is NULL or live; `id` is NULL or a valid string; `opts` is NULL or a valid
 * options struct; `err` is NULL or valid.
 */
int fastrun_container_exec(struct fastrun_context *ctx,
                           const char *id,
                           const struct fastrun_exec_options *opts,
                           struct fastrun_error **err);

/**
 * Freeze every process of container `id`. Returns 0. Thread-safe; no fd kept.
 *
 * # Safety
 * `ctx` is NULL or live; `id` is NULL or a valid string; `err` is NULL or valid.
 */
int fastrun_container_pause(struct fastrun_context *ctx,
                            const char *id,
                            struct fastrun_error **err);

/**
 * Thaw paused container `id`. Returns 0. Thread-safe; no fd kept.
 *
 * # Safety
 * `ctx` is NULL or live; `id` is NULL or a valid string; `err` is NULL or valid.
 */
int fastrun_container_resume(struct fastrun_context *ctx,
                             const char *id,
                             struct fastrun_error **err);

/**
 * Change the resource limits of container `id` to `resources`: `len` bytes of an OCI
 * `LinuxResources` JSON object (as `runc update --resources`). Returns 0.
 * Thread-safe; no fd kept.
 *
 * # Safety
 * `ctx` is NULL or live; `id` is NULL or a valid string; `resources` is valid for
 * reading `len` bytes; `err` is NULL or valid.
 */
int fastrun_container_update(struct fastrun_context *ctx,
                             const char *id,
                             const char *resources,
                             size_t len,
                             struct fastrun_error **err);

/**
 * The host pids of every process in container `id`: stores a new array in `*pids`
 * (release it with `fastrun_pids_free`; NULL when empty) and its length in `*count`.
 * Returns the count. Thread-safe; no fd kept.
 *
 * # Safety
 * `ctx` is NULL or live; `id` is NULL or a valid string; `pids` and `count` are valid
 * for writing; `err` is NULL or valid.
 */
int fastrun_container_ps(struct fastrun_context *ctx,
                         const char *id,
                         int32_t **pids,
                         size_t *count,
                         struct fastrun_error **err);

/**
 * One sample of the statistics of container `id` (cgroup: cpu, memory, pids, blkio,
 * hugetlb, ...), as the line `fastrun events --stats` (and runc) prints:
 * `{"type":"stats","id":"ID","data":{...}}`, stored as a new string in `*json`
 * (release it with `fastrun_string_free`). Returns its length. Thread-safe; no fd kept.
 *
 * # Safety
 * `ctx` is NULL or live; `id` is NULL or a valid string; `json` is valid for writing
 * one pointer; `err` is NULL or valid.
 */
int fastrun_container_stats(struct fastrun_context *ctx,
                            const char *id,
                            char **json,
                            struct fastrun_error **err);

/**
 * Open the events of container `id`, which this process started (see
 * `fastrun_container_pidfd`): its init's exit and the OOM kills in its cgroup. Stores a
 * new handle in `*out`. Holds up to three fds (close-on-exec) until
 * `fastrun_events_free`. Thread-safe (one handle is used by one thread at a time).
 *
 * # Safety
 * `ctx` is NULL or live; `id` is NULL or a valid string; `out` is valid for writing
 * one pointer; `err` is NULL or valid.
 */
int fastrun_events_open(struct fastrun_context *ctx,
                        const char *id,
                        struct fastrun_events **out,
                        struct fastrun_error **err);

/**
 * The fd to poll (POLLIN, or add to the host's epoll) for `ev`: readable while
 * `fastrun_events_next` has an event to return. Owned by `ev`. -1 for NULL.
 *
 * # Safety
 * `ev` is NULL or a live handle.
 */
int fastrun_events_fd(const struct fastrun_events *ev);

/**
 * The next event of `ev`, without blocking: FASTRUN_EVENT_OOM (one per OOM kill),
 * FASTRUN_EVENT_EXIT (once, after the OOM kills counted before it), or
 * FASTRUN_EVENT_NONE. Not thread-safe for one handle.
 *
 * # Safety
 * `ev` is NULL or a live handle not used by another thread; `err` is NULL or valid.
 */
int fastrun_events_next(struct fastrun_events *ev, struct fastrun_error **err);

/**
 * Release an events handle (its fds). NULL is a no-op.
 *
 * # Safety
 * `ev` is NULL or a handle from `fastrun_events_open` not freed yet.
 */
void fastrun_events_free(struct fastrun_events *ev);

/**
 * The states of every container under the context's root, as a JSON array of the
 * objects `fastrun_container_state` returns (`[]` when the root does not exist yet),
 * stored as a new string in `*json` (release it with `fastrun_string_free`).
 * Returns the number of containers. Thread-safe; no fd kept.
 *
 * # Safety
 * `ctx` is NULL or live; `json` is valid for writing one pointer; `err` is NULL or valid.
 */
int fastrun_list(struct fastrun_context *ctx, char **json, struct fastrun_error **err);

/**
 * The OCI runtime features document (`fastrun features`) as JSON, stored as a new
 * string in `*json` (release it with `fastrun_string_free`). Returns its length.
 * Thread-safe.
 *
 * # Safety
 * `json` is valid for writing one pointer; `err` is NULL or valid.
 */
int fastrun_features(char **json, struct fastrun_error **err);

/**
 * The default config.json (`fastrun spec`; with `rootless` non-zero, the rootless
 * variant) as a new string in `*json` (release it with `fastrun_string_free`).
 * Returns its length. Thread-safe; opens no fd.
 *
 * # Safety
 * `json` is valid for writing one pointer; `err` is NULL or valid.
 */
int fastrun_spec(int rootless, char **json, struct fastrun_error **err);

#ifdef __cplusplus
}  // extern "C"
#endif  // __cplusplus

#endif  /* FASTRUN_H */
