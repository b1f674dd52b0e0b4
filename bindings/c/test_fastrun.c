/*
 * Test program of libfastrun's C API, run by tests/bindings/c_binding.rs (as root):
 *
 *   test_fastrun ROOT RUN_BUNDLE SLEEP_BUNDLE ID_PREFIX
 *
 * RUN_BUNDLE's process prints a line and exits 7; SLEEP_BUNDLE's sleeps. The program
 * runs the first in the foreground, then creates/starts/inspects/kills/deletes the
 * second (loaded from memory), runs it detached and force-deletes it, and checks the
 * error paths. It prints one "ok - ..." line per check on stdout and fails with a
 * "FAIL: ..." line on stderr. libfastrun itself must print nothing.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "fastrun.h"

static int checks;
static int log_lines, log_errors;

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

static void ok(const char *what)
{
  checks++;
  printf("ok %d - %s\n", checks, what);
  fflush(stdout);
}

/* The call returned `ret` and stored `*errp` (passed by address: C does not order the
   evaluation of arguments, so `err` itself could be read before the call): it must have failed with `code`, and the message
   must contain `needle` (when not NULL). Frees the error. */
static void expect_error(const char *what, int ret, fastrun_error **errp, int code, const char *needle)
{
  fastrun_error *err = *errp;
  *errp = NULL;
  if (ret != -code || err == NULL || err->code != code || err->message == NULL)
    fail("%s: want error %d, got ret %d, err %p (code %d: %s)", what, code, ret, (void *) err,
         err ? err->code : 0, err && err->message ? err->message : "");
  if (needle != NULL && strstr(err->message, needle) == NULL)
    fail("%s: message \"%s\" lacks \"%s\"", what, err->message, needle);
  printf("ok %d - %s (error %d: %s)\n", ++checks, what, err->code, err->message);
  fflush(stdout);
  fastrun_error_free(err);
}

static void expect_ok(const char *what, int ret, fastrun_error **errp)
{
  fastrun_error *err = *errp;
  if (ret < 0 || err != NULL)
    fail("%s: ret %d: %s", what, ret, err && err->message ? err->message : "(no error)");
  ok(what);
}

static void on_log(int level, const char *msg, void *userdata)
{
  (void) userdata;
  if (msg == NULL || level < FASTRUN_LOG_ERROR || level > FASTRUN_LOG_DEBUG)
    fail("log callback: level %d, msg %p", level, (const void *) msg);
  log_lines++;
  if (level == FASTRUN_LOG_ERROR)
    log_errors++;
}

/* The open fds, but the eventfd of libfastrun's reaper thread (kept for the process's
   life once it owns a child: see "Processes" in the header). */
static int count_fds(void)
{
  int n = 0;
  DIR *d = opendir("/proc/self/fd");
  struct dirent *e;
  char path[300], target[300];
  if (d == NULL)
    fail("opendir /proc/self/fd: %s", strerror(errno));
  while ((e = readdir(d)) != NULL) {
    if (e->d_name[0] == '.')
      continue;
    snprintf(path, sizeof path, "/proc/self/fd/%s", e->d_name);
    ssize_t len = readlink(path, target, sizeof target - 1);
    target[len > 0 ? len : 0] = 0;
    if (strcmp(target, "anon_inode:[eventfd]") != 0)
      n++;
  }
  closedir(d);
  return n - 1; /* the directory's own fd */
}

static char *read_file(const char *path, size_t *len)
{
  FILE *f = fopen(path, "rb");
  char *buf;
  long n;
  if (f == NULL)
    fail("open %s: %s", path, strerror(errno));
  if (fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0)
    fail("seek %s", path);
  buf = malloc((size_t) n + 1);
  if (buf == NULL || fread(buf, 1, (size_t) n, f) != (size_t) n)
    fail("read %s", path);
  buf[n] = '\0';
  fclose(f);
  *len = (size_t) n;
  return buf;
}

static char *state_of(fastrun_context *ctx, const char *id)
{
  fastrun_error *err = NULL;
  char *json = NULL;
  int n = fastrun_container_state_alloc(ctx, id, &json, &err);
  if (n < 0)
    fail("state %s: %s", id, err->message);
  if ((size_t) n != strlen(json))
    fail("state %s: length %d, strlen %zu", id, n, strlen(json));
  return json;
}

static void wait_status(fastrun_context *ctx, const char *id, const char *status)
{
  char want[64];
  int i;
  snprintf(want, sizeof want, "\"status\":\"%s\"", status);
  for (i = 0; i < 1000; i++) {
    char *json = state_of(ctx, id);
    int found = strstr(json, want) != NULL;
    fastrun_string_free(json);
    if (found)
      return;
    usleep(10 * 1000);
  }
  fail("container %s never reached %s", id, status);
}

int main(int argc, char **argv)
{
  fastrun_context *ctx = NULL;
  fastrun_container *run_c = NULL, *sleep_c = NULL, *bad_c = NULL;
  fastrun_error *err = NULL;
  struct fastrun_context_options copts;
  struct fastrun_create_options opts;
  struct fastrun_exec_options eopts;
  char run_id[128], sleep_id[128], detached_id[128], pid_file[4096];
  char small[8], *buf, *json, *config;
  const char *exec_args[] = {"true", NULL};
  size_t needed = 0, config_len, count = 0;
  int32_t *pids = NULL;
  int ret, pid, fds_before, sig;
  int status;

  if (argc != 5) {
    fprintf(stderr, "usage: %s ROOT RUN_BUNDLE SLEEP_BUNDLE ID_PREFIX\n", argv[0]);
    return 2;
  }
  snprintf(run_id, sizeof run_id, "%s-run", argv[4]);
  snprintf(sleep_id, sizeof sleep_id, "%s-sleep", argv[4]);
  snprintf(detached_id, sizeof detached_id, "%s-detached", argv[4]);
  snprintf(pid_file, sizeof pid_file, "%s/init.pid", argv[3]);
  fds_before = count_fds();

  /* A context logging everything to our callback. */
  memset(&copts, 0, sizeof copts);
  copts.struct_size = sizeof copts;
  copts.root = argv[1];
  copts.log_level = FASTRUN_LOG_DEBUG;
  copts.log_fn = on_log;
  copts.spawn_mode = 99;
  expect_error("unknown spawn mode", fastrun_context_new(&copts, &ctx, &err), &err,
               FASTRUN_E_INVALID_ARGUMENT, "spawn_mode 99");
  /* FASTRUN_TEST_SPAWN: a FASTRUN_SPAWN_* value (default auto). */
  copts.spawn_mode = getenv("FASTRUN_TEST_SPAWN") ? atoi(getenv("FASTRUN_TEST_SPAWN")) : FASTRUN_SPAWN_AUTO;
  expect_ok("context_new", fastrun_context_new(&copts, &ctx, &err), &err);

  /* The two containers: one loaded from its bundle, one from a config in memory. */
  expect_ok("load bundle from file", fastrun_container_load(argv[2], &run_c, &err), &err);
  {
    size_t n;
    char *path = malloc(strlen(argv[3]) + sizeof "/config.json");
    sprintf(path, "%s/config.json", argv[3]);
    config = read_file(path, &n);
    config_len = n;
    free(path);
  }
  expect_ok("load config from memory",
            fastrun_container_load_from_memory(config, config_len, argv[3], &sleep_c, &err), &err);
  memset(&opts, 0, sizeof opts);
  opts.struct_size = sizeof opts;
  memset(&eopts, 0, sizeof eopts);
  eopts.struct_size = sizeof eopts;
  eopts.args = exec_args;

  /* Under valgrind, which does not know pidfd_open and clone3, no container can start:
     FASTRUN_TEST_NO_CONTAINERS=1 skips parts 1 to 3. */
  if (getenv("FASTRUN_TEST_NO_CONTAINERS") == NULL) {
    /* 1. Run a container in the foreground: its exit status comes back. */
    ret = fastrun_container_run(ctx, run_c, run_id, NULL, &err);
    if (ret != 7 || err != NULL)
      fail("run: want exit status 7, got %d (%s)", ret, err ? err->message : "");
    ok("run in the foreground returns the exit status 7");
    expect_error("a run container is deleted once it exits",
                 fastrun_container_state(ctx, run_id, small, sizeof small, &needed, &err), &err,
                 FASTRUN_E_NOT_FOUND, run_id);

    /* 2. create / state / start / kill / delete another, loaded from memory. */
    opts.pid_file = pid_file;
    pid = fastrun_container_create(ctx, sleep_c, sleep_id, &opts, &err);
    if (pid <= 0 || err != NULL)
      fail("create: %d (%s)", pid, err ? err->message : "");
    ok("create returns the init's pid");
    {
      size_t n;
      char *text = read_file(pid_file, &n);
      if (atoi(text) != pid)
        fail("pid file holds \"%s\", create returned %d", text, pid);
      free(text);
      ok("the pid file holds the init's pid");
    }

    ret = fastrun_container_state(ctx, sleep_id, small, sizeof small, &needed, &err);
    if (needed <= sizeof small)
      fail("needed %zu", needed);
    expect_error("state into a too small buffer reports the size needed", ret, &err,
                 FASTRUN_E_BUFFER_TOO_SMALL, "bytes are needed");
    buf = malloc(needed);
    ret = fastrun_container_state(ctx, sleep_id, buf, needed, &needed, &err);
    expect_ok("state into a buffer of the size needed", ret, &err);
    if ((size_t) ret != needed - 1 || strlen(buf) != (size_t) ret)
      fail("state: returned %d, needed %zu, strlen %zu", ret, needed, strlen(buf));
    if (strstr(buf, "\"status\":\"created\"") == NULL || strstr(buf, sleep_id) == NULL)
      fail("state: %s", buf);
    {
      char want[64];
      snprintf(want, sizeof want, "\"pid\":%d", pid);
      if (strstr(buf, want) == NULL)
        fail("state lacks %s: %s", want, buf);
    }
    free(buf);
    ok("the state says created, with the id and pid");

    expect_error("create with an id in use", fastrun_container_create(ctx, sleep_c, sleep_id, NULL, &err),
                 &err, FASTRUN_E_ALREADY_EXISTS, sleep_id);
    expect_ok("start", fastrun_container_start(ctx, sleep_id, &err), &err);
    wait_status(ctx, sleep_id, "running");
    ok("the state says running");
    expect_error("start a running container", fastrun_container_start(ctx, sleep_id, &err), &err,
                 FASTRUN_E_INVALID_STATE, "running");

    ret = fastrun_container_exec(ctx, sleep_id, &eopts, &err);
    if (ret != 0 || err != NULL)
      fail("exec: want exit status 0, got %d (%s)", ret, err ? err->message : "");
    ok("exec runs a process in the container and returns its status");
    ret = fastrun_container_ps(ctx, sleep_id, &pids, &count, &err);
    if (ret >= 0) {
      size_t i;
      int found = 0;
      for (i = 0; i < count; i++)
        found |= pids[i] == pid;
      if (!found || (size_t) ret != count)
        fail("ps: %d pids, init %d not among them", ret, pid);
      fastrun_pids_free(pids);
      ok("ps lists the init");
  } else {
    expect_error("ps is bound (the engine's stub answers)", ret, &err, FASTRUN_E_UNSUPPORTED, "ps");
  }

  ret = fastrun_list(ctx, &json, &err);
  expect_ok("list", ret, &err);
  if (ret < 1 || strstr(json, sleep_id) == NULL || json[0] != '[')
    fail("list: %d: %s", ret, json);
  fastrun_string_free(json);

  expect_error("delete a running container without force",
               fastrun_container_delete(ctx, sleep_id, 0, &err), &err, FASTRUN_E_INVALID_STATE,
               "not stopped");
  sig = fastrun_parse_signal("SIGKILL", &err);
  expect_ok("parse_signal SIGKILL", sig, &err);
  expect_ok("kill", fastrun_container_kill(ctx, sleep_id, sig, &err), &err);
  wait_status(ctx, sleep_id, "stopped");
  ok("the state says stopped");
  expect_ok("delete", fastrun_container_delete(ctx, sleep_id, 0, &err), &err);
  expect_error("state after delete", fastrun_container_state(ctx, sleep_id, NULL, 0, NULL, &err), &err,
               FASTRUN_E_NOT_FOUND, sleep_id);

  /* 3. Run detached, then force-delete the running container. */
  opts.pid_file = NULL;
  opts.detach = 1;
  ret = fastrun_container_run(ctx, sleep_c, detached_id, &opts, &err);
  expect_ok("run detached", ret, &err);
  wait_status(ctx, detached_id, "running");
  expect_ok("kill --all", fastrun_container_kill_all(ctx, detached_id, SIGTERM, &err), &err);
  expect_ok("delete --force", fastrun_container_delete(ctx, detached_id, 1, &err), &err);
  expect_ok("delete --force of a missing container",
            fastrun_container_delete(ctx, detached_id, 1, &err), &err);
  } else {
    ok("containers skipped (FASTRUN_TEST_NO_CONTAINERS)");
  }

  /* 4. Error paths: never a crash, always a code and a message. */
  expect_error("NULL context", fastrun_container_start(NULL, "x", &err), &err,
               FASTRUN_E_INVALID_ARGUMENT, "ctx is NULL");
  expect_error("NULL id", fastrun_container_kill(ctx, NULL, 9, &err), &err,
               FASTRUN_E_INVALID_ARGUMENT, "id is NULL");
  expect_error("id not UTF-8", fastrun_container_start(ctx, "\xff\xfe", &err), &err,
               FASTRUN_E_INVALID_ARGUMENT, "UTF-8");
  expect_error("invalid id", fastrun_container_create(ctx, sleep_c, "../escape", NULL, &err), &err,
               FASTRUN_E_INVALID_ARGUMENT, NULL);
  expect_error("unknown signal name", fastrun_parse_signal("NOSUCHSIGNAL", &err), &err,
               FASTRUN_E_INVALID_ARGUMENT, "NOSUCHSIGNAL");
  expect_error("signal out of range", fastrun_container_kill(ctx, "x", 65, &err), &err,
               FASTRUN_E_INVALID_ARGUMENT, "65");
  expect_error("kill a missing container", fastrun_container_kill(ctx, "missing", 9, &err), &err,
               FASTRUN_E_NOT_FOUND, "missing");
  {
    static const char bad[] = "{\"ociVersion\": \"1.0.2\", \"root\": {\"path\": 5}}";
    expect_error("invalid config",
                 fastrun_container_load_from_memory(bad, sizeof bad - 1, argv[3], &bad_c, &err),
                 &err, FASTRUN_E_INVALID_CONFIG, "root.path");
    if (bad_c != NULL)
      fail("a failed load stored a container");
  }
  expect_error("missing bundle", fastrun_container_load("/nonexistent-bundle", &bad_c, &err), &err,
               FASTRUN_E_SYSTEM, "config.json");
  expect_error("NULL out-pointer", fastrun_container_load(argv[2], NULL, &err), &err,
               FASTRUN_E_INVALID_ARGUMENT, "out is NULL");
  opts.struct_size = 4;
  expect_error("struct_size too small", fastrun_container_create(ctx, sleep_c, "y", &opts, &err),
               &err, FASTRUN_E_INVALID_ARGUMENT, "struct_size");
  expect_error("NULL buffer with a size",
               fastrun_container_state(ctx, "x", NULL, 10, NULL, &err), &err,
               FASTRUN_E_INVALID_ARGUMENT, "buf is NULL");
  eopts.args = NULL;
  expect_error("exec without args", fastrun_container_exec(ctx, "x", &eopts, &err), &err,
               FASTRUN_E_INVALID_ARGUMENT, "args");
  expect_error("update with NULL resources", fastrun_container_update(ctx, "x", NULL, 0, &err), &err,
               FASTRUN_E_INVALID_ARGUMENT, "resources");
  /* A NULL err is allowed: only the return value tells. */
  if (fastrun_container_start(ctx, "missing", NULL) != -FASTRUN_E_NOT_FOUND)
    fail("start with err NULL");
  ok("a NULL err out-parameter is allowed");

  /* 5. features and spec. */
  ret = fastrun_features(&json, &err);
  expect_ok("features", ret, &err);
  if (json[0] != '{' || strstr(json, "ociVersionMin") == NULL)
    fail("features: %s", json);
  fastrun_string_free(json);
  ret = fastrun_spec(0, &json, &err);
  expect_ok("spec", ret, &err);
  if (strstr(json, "\"ociVersion\"") == NULL || (size_t) ret != strlen(json))
    fail("spec: %s", json);
  fastrun_string_free(json);

  /* 6. Freeing NULL is a no-op; nothing is left behind. */
  fastrun_error_free(NULL);
  fastrun_string_free(NULL);
  fastrun_pids_free(NULL);
  fastrun_container_free(NULL);
  fastrun_context_free(NULL);
  ok("freeing NULL is a no-op");

  fastrun_container_free(run_c);
  fastrun_container_free(sleep_c);
  fastrun_context_free(ctx);
  free(config);

  if (log_lines == 0 || log_errors == 0)
    fail("log callback: %d lines, %d errors", log_lines, log_errors);
  ok("the log callback received debug and error lines");
  if (count_fds() != fds_before)
    fail("fds: %d before, %d after", fds_before, count_fds());
  ok("no fd leaked");
  errno = 0;
  if (waitpid(-1, &status, WNOHANG) != -1 || errno != ECHILD)
    fail("a child is left (not reaped by libfastrun)");
  ok("every init was reaped (by the time its delete returned)");

  printf("all %d checks passed\n", checks);
  return 0;
}
