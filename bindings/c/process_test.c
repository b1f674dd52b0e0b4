/*
 * How libfastrun owns the processes it starts, tried as an embedding host would
 * (run by tests/bindings/c_binding.rs, as root):
 *
 *   process_test ROOT BUNDLE ID_PREFIX MODE [ARGS]
 *
 * BUNDLE's config.json runs `sh -c "exit XYZ"` (XYZ is replaced by a status per
 * container, the config loaded from memory), or for the exec modes `sleep 60`.
 * MODE:
 *   stress THREADS N SPAWN   THREADS threads x N lifecycles on one context, each with
 *                            its own exit status (create+start+wait, and run): prints
 *                            "lost L of T"; SPAWN is a FASTRUN_SPAWN_* value
 *   sigchld ign|block|reaper create+start+wait and run with SIGCHLD ignored, blocked
 *                            in every thread, or handled by a handler that reaps every
 *                            child (waitpid(-1)) as some hosts do
 *   exec                     detached exec'd processes: a pid returned, reaped by the
 *                            library (or by the caller with caller_reaps), and a
 *                            SIGKILL + delete that completes
 *   pidfd                    fastrun_container_pidfd + poll, wait's timeout, state's
 *                            exitStatus, wait after delete
 *   longid                   a 399-character id is an invalid argument
 *   events                   fastrun_events_*: an OOM kill (BUNDLE's process runs a
 *                            memory hog under a limit, then exits 3), then the exit
 * Prints "ok - ..." lines and "checks passed"; fails with "FAIL: ..." on stderr.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "fastrun.h"

#ifndef P_PIDFD
#define P_PIDFD 3
#endif

static const char *root, *bundle, *prefix;
static char *config_text;
static size_t config_len;
static fastrun_context *ctx;
static int checks;

static void fail(const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  fputs("FAIL: ", stderr);
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
  va_end(ap);
  exit(1);
}

static void ok(const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  printf("ok %d - ", ++checks);
  vprintf(fmt, ap);
  putchar('\n');
  fflush(stdout);
  va_end(ap);
}

static void check(const char *what, int ret, fastrun_error *err)
{
  if (ret < 0 || err != NULL)
    fail("%s: ret %d: %s", what, ret, err && err->message ? err->message : "(no error)");
}

static double now(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* The bundle's config with its exit status set to `code`. */
static fastrun_container *config_with(int code)
{
  char *text = strdup(config_text);
  char *at = strstr(text, "XYZ");
  fastrun_container *c = NULL;
  fastrun_error *err = NULL;
  if (at != NULL) {
    char num[4];
    snprintf(num, sizeof num, "%3d", code);
    memcpy(at, num, 3);
  }
  check("load config", fastrun_container_load_from_memory(text, config_len, bundle, &c, &err), err);
  free(text);
  return c;
}

static void read_config(void)
{
  char path[4096];
  snprintf(path, sizeof path, "%s/config.json", bundle);
  FILE *f = fopen(path, "r");
  if (f == NULL)
    fail("open %s: %s", path, strerror(errno));
  config_text = calloc(1, 1 << 20);
  config_len = fread(config_text, 1, (1 << 20) - 1, f);
  fclose(f);
}

static void new_context(int spawn_mode)
{
  struct fastrun_context_options o;
  fastrun_error *err = NULL;
  memset(&o, 0, sizeof o);
  o.struct_size = sizeof o;
  o.root = root;
  o.spawn_mode = spawn_mode;
  check("context", fastrun_context_new(&o, &ctx, &err), err);
}

/* create + start + wait: the status wait returns (-1 on a timeout). */
static int lifecycle_create(const char *id, int code)
{
  fastrun_container *c = config_with(code);
  fastrun_error *err = NULL;
  int status = -1, r;
  check("create", fastrun_container_create(ctx, c, id, NULL, &err), err);
  check("start", fastrun_container_start(ctx, id, &err), err);
  r = fastrun_container_wait(ctx, id, 20000, &status, &err);
  check("wait", r, err);
  if (r == 0)
    status = -1;
  check("delete", fastrun_container_delete(ctx, id, 0, &err), err);
  fastrun_container_free(c);
  return status;
}

/* run in the foreground: its status. */
static int lifecycle_run(const char *id, int code)
{
  fastrun_container *c = config_with(code);
  fastrun_error *err = NULL;
  int r = fastrun_container_run(ctx, c, id, NULL, &err);
  check("run", r, err);
  fastrun_container_free(c);
  return r;
}

struct worker {
  pthread_t thread;
  int index, n, lost;
};

static void *work(void *arg)
{
  struct worker *w = arg;
  char id[256];
  for (int i = 0; i < w->n; i++) {
    int code = 1 + (w->index * 37 + i) % 200;
    int got;
    snprintf(id, sizeof id, "%s-t%d-%d", prefix, w->index, i);
    if (i % 2 == 0)
      got = lifecycle_create(id, code);
    else
      got = lifecycle_run(id, code);
    if (got != code) {
      fprintf(stderr, "lost: %s (%s): want %d, got %d\n", id, i % 2 ? "run" : "create", code, got);
      w->lost++;
    }
  }
  return NULL;
}

static void stress(int threads, int n, int spawn_mode)
{
  struct worker *w = calloc(threads, sizeof *w);
  int lost = 0;
  double t0 = now();
  new_context(spawn_mode);
  for (int t = 0; t < threads; t++) {
    w[t].index = t;
    w[t].n = n;
    if (pthread_create(&w[t].thread, NULL, work, &w[t]) != 0)
      fail("pthread_create");
  }
  for (int t = 0; t < threads; t++) {
    pthread_join(w[t].thread, NULL);
    lost += w[t].lost;
  }
  printf("lost %d of %d (spawn mode %d, %.1f s)\n", lost, threads * n, spawn_mode, now() - t0);
  if (lost != 0)
    fail("%d exit statuses lost", lost);
  ok("%d lifecycles, every exit status returned", threads * n);
  free(w);
}

static void on_sigchld(int sig)
{
  int saved = errno;
  (void) sig;
  /* A host that reaps every child: the library's processes too. */
  while (waitpid(-1, NULL, WNOHANG) > 0)
    ;
  errno = saved;
}

static void sigchld(const char *how)
{
  char id[256];
  if (strcmp(how, "ign") == 0) {
    signal(SIGCHLD, SIG_IGN);
  } else if (strcmp(how, "block") == 0) {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGCHLD);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
  } else if (strcmp(how, "reaper") == 0) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_sigchld;
    sa.sa_flags = SA_RESTART | SA_NOCLDSTOP;
    sigaction(SIGCHLD, &sa, NULL);
  } else {
    fail("sigchld: unknown mode %s", how);
  }
  new_context(0);
  for (int i = 0; i < 5; i++) {
    int code = 40 + i;
    snprintf(id, sizeof id, "%s-c%d", prefix, i);
    int got = lifecycle_create(id, code);
    if (got != code)
      fail("SIGCHLD %s: create+start+wait: want %d, got %d", how, code, got);
    snprintf(id, sizeof id, "%s-r%d", prefix, i);
    got = lifecycle_run(id, code + 10);
    if (got != code + 10)
      fail("SIGCHLD %s: run: want %d, got %d", how, code + 10, got);
  }
  ok("SIGCHLD %s: create+start+wait and run return the exit status", how);
}

static int exec_detached(const char *id, const char *const *args, int caller_reaps, int *pidfd)
{
  struct fastrun_exec_options o;
  fastrun_error *err = NULL;
  memset(&o, 0, sizeof o);
  o.struct_size = sizeof o;
  o.args = (const char **) args;
  o.detach = 1;
  o.caller_reaps = caller_reaps;
  o.pidfd = pidfd;
  int pid = fastrun_container_exec(ctx, id, &o, &err);
  check("exec", pid, err);
  return pid;
}

static int is_zombie_or_gone(int pid)
{
  char path[64], buf[512];
  snprintf(path, sizeof path, "/proc/%d/stat", pid);
  FILE *f = fopen(path, "r");
  if (f == NULL)
    return 2; /* gone */
  size_t n = fread(buf, 1, sizeof buf - 1, f);
  fclose(f);
  buf[n] = 0;
  char *p = strrchr(buf, ')');
  return p != NULL && p[2] == 'Z' ? 1 : 0;
}

static void exec_mode(void)
{
  char id[256];
  fastrun_error *err = NULL;
  fastrun_container *c = config_with(0);
  int status = -1;
  new_context(0);
  snprintf(id, sizeof id, "%s-exec", prefix);
  check("create", fastrun_container_create(ctx, c, id, NULL, &err), err);
  check("start", fastrun_container_start(ctx, id, &err), err);

  /* Detached, reaped by the library. */
  static const char *const quick[] = {"sh", "-c", "exit 3", NULL};
  int pidfd = -1;
  int pid = exec_detached(id, quick, 0, &pidfd);
  if (pid <= 0 || pidfd < 0)
    fail("detached exec: pid %d, pidfd %d", pid, pidfd);
  ok("a detached exec returns its pid (%d) and a pidfd", pid);
  struct pollfd p = {.fd = pidfd, .events = POLLIN};
  if (poll(&p, 1, 10000) != 1)
    fail("the exec'd process did not exit");
  double t0 = now();
  while (is_zombie_or_gone(pid) != 2 && now() - t0 < 5)
    usleep(1000);
  if (is_zombie_or_gone(pid) != 2)
    fail("the detached exec'd process %d was not reaped", pid);
  close(pidfd);
  ok("the detached exec'd process was reaped by libfastrun");

  /* Detached, the caller reaps. */
  pid = exec_detached(id, quick, 1, &pidfd);
  siginfo_t si;
  memset(&si, 0, sizeof si);
  if (waitid(P_PIDFD, pidfd, &si, WEXITED) != 0 || si.si_pid != pid || si.si_status != 3)
    fail("caller_reaps: waitid: %s, pid %d (want %d), status %d", strerror(errno), si.si_pid, pid,
         si.si_status);
  close(pidfd);
  ok("caller_reaps: the caller reaps its exec'd process (status 3)");

  /* From memory, as --process: user and additional gids, rlimits, capabilities, and
     the env entries of the options merged over the process's. */
  static const char process[] =
      "{\"args\":[\"sh\",\"-c\",\"test \\\"$(ulimit -n)\\\" = 123 && "
      "grep -q '^Groups:.*5 6' /proc/self/status && "
      "grep -q '^CapEff:.*0000000000000020$' /proc/self/status && "
      "test \\\"$FOO\\\" = baz && exit 7\"],"
      "\"cwd\":\"/\",\"env\":[\"PATH=/bin\",\"FOO=bar\"],"
      "\"user\":{\"uid\":0,\"gid\":0,\"additionalGids\":[5,6]},"
      "\"rlimits\":[{\"type\":\"RLIMIT_NOFILE\",\"hard\":123,\"soft\":123}],"
      "\"capabilities\":{\"bounding\":[\"CAP_KILL\"],\"effective\":[\"CAP_KILL\"],"
      "\"permitted\":[\"CAP_KILL\"]}}";
  static const char *const foo[] = {"FOO=baz", NULL};
  struct fastrun_exec_options mo;
  memset(&mo, 0, sizeof mo);
  mo.struct_size = sizeof mo;
  mo.process_json = process;
  mo.process_json_len = strlen(process);
  mo.env = (const char **) foo;
  int code = fastrun_container_exec(ctx, id, &mo, &err);
  check("exec from memory", code, err);
  if (code != 7)
    fail("exec from memory: the process saw something else (exit status %d)", code);
  ok("exec from memory: additional gids, rlimits, capabilities, env merged (status 7)");

  /* A zombie exec never holds the init: exec, let it exit, SIGKILL, delete. */
  static const char *const done[] = {"true", NULL};
  pid = exec_detached(id, done, 0, NULL);
  usleep(200000);
  t0 = now();
  check("kill", fastrun_container_kill(ctx, id, SIGKILL, &err), err);
  int r = fastrun_container_wait(ctx, id, 5000, &status, &err);
  check("wait", r, err);
  if (r != 1 || status != 128 + SIGKILL)
    fail("wait after SIGKILL: ret %d, status %d", r, status);
  check("delete", fastrun_container_delete(ctx, id, 0, &err), err);
  double took = now() - t0;
  if (took > 3)
    fail("kill + delete took %.1f s", took);
  ok("detached exec, SIGKILL, delete: done in %.3f s, status %d", took, status);
  fastrun_container_free(c);
}

static void pidfd_mode(void)
{
  char id[256], *json = NULL;
  fastrun_error *err = NULL;
  int status = -1;
  fastrun_container *c = config_with(0);
  new_context(0);
  snprintf(id, sizeof id, "%s-pidfd", prefix);
  check("create", fastrun_container_create(ctx, c, id, NULL, &err), err);
  int fd = fastrun_container_pidfd(ctx, id, &err);
  check("pidfd", fd, err);
  int r = fastrun_container_wait(ctx, id, 0, &status, &err);
  check("wait", r, err);
  if (r != 0)
    fail("wait(0) on a created container: %d", r);
  r = fastrun_container_wait(ctx, id, 300, &status, &err);
  check("wait", r, err);
  if (r != 0)
    fail("wait(300) on a created container: %d", r);
  ok("wait times out while the init runs");
  /* Statistics as `events --stats` prints them (of a created container; a stopped one has none, as under runc). */
  char *stats = NULL;
  check("stats", fastrun_container_stats(ctx, id, &stats, &err), err);
  char want[300];
  snprintf(want, sizeof want, "{\"type\":\"stats\",\"id\":\"%s\",\"data\":{", id);
  if (strncmp(stats, want, strlen(want)) != 0 || strstr(stats, "\"memory\"") == NULL)
    fail("stats: %s", stats);
  ok("stats: %.60s...", stats);
  fastrun_string_free(stats);
  check("start", fastrun_container_start(ctx, id, &err), err);
  struct pollfd p = {.fd = fd, .events = POLLIN};
  if (poll(&p, 1, 10000) != 1)
    fail("the pidfd did not report the init's exit");
  close(fd);
  /* Once the pidfd fired, even a wait that does not wait has the status. */
  r = fastrun_container_wait(ctx, id, 0, &status, &err);
  check("wait", r, err);
  if (r != 1 || status != 0)
    fail("wait after the pidfd fired: %d, status %d", r, status);
  ok("the pidfd polls readable at exit; wait returns the status");

  /* Every wait returns the same status; so does another context on the root. */
  fastrun_context *first = ctx;
  new_context(0);
  r = fastrun_container_wait(ctx, id, -1, &status, &err);
  check("wait", r, err);
  if (r != 1 || status != 0)
    fail("second wait: %d, status %d", r, status);
  check("state", fastrun_container_state_alloc(ctx, id, &json, &err), err);
  if (strstr(json, "\"status\":\"stopped\"") == NULL || strstr(json, "\"exitStatus\":0") == NULL)
    fail("state after exit: %s", json);
  ok("state after exit: %s", json);
  fastrun_string_free(json);
  check("delete", fastrun_container_delete(ctx, id, 0, &err), err);
  r = fastrun_container_stats(ctx, id, &json, &err);
  if (r != -FASTRUN_E_NOT_FOUND)
    fail("stats after delete: %d", r);
  fastrun_error_free(err);
  err = NULL;
  r = fastrun_container_wait(ctx, id, 0, &status, &err);
  if (r != -FASTRUN_E_NOT_FOUND)
    fail("wait after delete: %d", r);
  fastrun_error_free(err);
  err = NULL;
  ok("wait after delete: not found");
  fastrun_context_free(first);
  fastrun_container_free(c);
}

static void events_mode(void)
{
  char id[256];
  fastrun_error *err = NULL;
  fastrun_events *ev = NULL;
  fastrun_container *c = config_with(0);
  int status = -1, ooms = 0, exits = 0;
  new_context(0);
  snprintf(id, sizeof id, "%s-events", prefix);
  check("create", fastrun_container_create(ctx, c, id, NULL, &err), err);
  check("events", fastrun_events_open(ctx, id, &ev, &err), err);
  int fd = fastrun_events_fd(ev);
  if (fd < 0)
    fail("events fd %d", fd);
  check("start", fastrun_container_start(ctx, id, &err), err);
  double t0 = now();
  while (exits == 0 && now() - t0 < 20) {
    struct pollfd p = {.fd = fd, .events = POLLIN};
    if (poll(&p, 1, 20000) != 1)
      fail("no event within 20 s");
    int e;
    while ((e = fastrun_events_next(ev, &err)) > 0) {
      if (e == FASTRUN_EVENT_OOM)
        ooms++;
      else if (e == FASTRUN_EVENT_EXIT)
        exits++;
    }
    check("events next", e, err);
  }
  if (ooms < 1 || exits != 1)
    fail("events: %d OOM, %d exit", ooms, exits);
  if (fastrun_events_next(ev, &err) != FASTRUN_EVENT_NONE)
    fail("an event after the exit");
  int r = fastrun_container_wait(ctx, id, 0, &status, &err);
  check("wait", r, err);
  if (r != 1 || status != 3)
    fail("wait after the exit event: %d, status %d", r, status);
  ok("events: %d OOM kill(s), then the exit (status %d)", ooms, status);
  fastrun_events_free(ev);
  fastrun_events_free(NULL);
  check("delete", fastrun_container_delete(ctx, id, 0, &err), err);
  fastrun_container_free(c);
}

static void longid(void)
{
  char id[400];
  fastrun_error *err = NULL;
  fastrun_container *c = config_with(0);
  new_context(0);
  memset(id, 'a', 399);
  id[399] = 0;
  int r = fastrun_container_create(ctx, c, id, NULL, &err);
  if (r != -FASTRUN_E_INVALID_ARGUMENT || err == NULL || err->code != FASTRUN_E_INVALID_ARGUMENT)
    fail("a 399-character id: ret %d, %s", r, err ? err->message : "");
  ok("a 399-character id: %s", err->message);
  fastrun_error_free(err);
  fastrun_container_free(c);
}

int main(int argc, char **argv)
{
  if (argc < 5)
    fail("usage: process_test ROOT BUNDLE ID_PREFIX MODE [ARGS]");
  root = argv[1];
  bundle = argv[2];
  prefix = argv[3];
  const char *mode = argv[4];
  read_config();
  if (strcmp(mode, "stress") == 0 && argc == 8)
    stress(atoi(argv[5]), atoi(argv[6]), atoi(argv[7]));
  else if (strcmp(mode, "sigchld") == 0 && argc == 6)
    sigchld(argv[5]);
  else if (strcmp(mode, "exec") == 0)
    exec_mode();
  else if (strcmp(mode, "pidfd") == 0)
    pidfd_mode();
  else if (strcmp(mode, "longid") == 0)
    longid();
  else if (strcmp(mode, "events") == 0)
    events_mode();
  else
    fail("unknown mode %s", mode);
  fastrun_context_free(ctx);
  printf("checks passed\n");
  return 0;
}
