/* The libfastrun half of benches/soak.sh: THREADS threads of one host run N
 * container lifecycles through the C API, every 10th one a race on a few shared
 * ids (create / delete --force / kill --all from different threads).
 *
 *   soak_lib ROOT BUNDLE N THREADS PREFIX   (container ids start with PREFIX)
 *
 * BUNDLE/config.json runs `sh -c 'exit __CODE__'`: each lifecycle loads it with its
 * own exit code (0..6) and checks that `fastrun_container_run` returns it. At the
 * end every shared id is force-deleted, and the host's open fds are compared with
 * what they were before the first lifecycle, its resident memory with what it was
 * after the first 5% (warm-up). Prints one
 * summary line; exits non-zero on a wrong exit status, an unexpected error, or
 * fds that grew. */
#define _GNU_SOURCE
#include <dirent.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <fastrun.h>

#define CODES 7
#define SHARED 4

static struct fastrun_context *ctx;
static struct fastrun_container *ctr[CODES];
static int n_total, n_threads;
static const char *prefix;
static atomic_int next_i, bad, races, race_errors_ok, done_warmup;
/* The RSS at 25, 50 and 75 % of the lifecycles: growth that levels off is the
   allocator's arenas filling, growth at every step a leak. */
static atomic_long rss_q[3];

static int count_fds(void) {
  int n = 0;
  DIR *d = opendir("/proc/self/fd");
  struct dirent *e;
  if (!d)
    return -1;
  while ((e = readdir(d)))
    if (e->d_name[0] != '.')
      n++;
  closedir(d);
  return n - 1; /* the DIR's own fd */
}

/* What each open fd is (stderr), to name what grew. */
static void show_fds(const char *when) {
  char p[300], target[512];
  DIR *d = opendir("/proc/self/fd");
  struct dirent *e;
  if (!d)
    return;
  while ((e = readdir(d))) {
    ssize_t n;
    if (e->d_name[0] == '.')
      continue;
    snprintf(p, sizeof p, "/proc/self/fd/%s", e->d_name);
    n = readlink(p, target, sizeof target - 1);
    target[n < 0 ? 0 : n] = 0;
    fprintf(stderr, "soak_lib: fds %s: %s -> %s\n", when, e->d_name, target);
  }
  closedir(d);
}

static long rss_kb(void) {
  char line[256];
  long kb = -1;
  FILE *f = fopen("/proc/self/status", "re");
  if (!f)
    return -1;
  while (fgets(line, sizeof line, f))
    if (sscanf(line, "VmRSS: %ld kB", &kb) == 1)
      break;
  fclose(f);
  return kb;
}

static char *read_file(const char *path, size_t *len) {
  FILE *f = fopen(path, "re");
  char *buf;
  if (!f)
    return NULL;
  fseek(f, 0, SEEK_END);
  *len = (size_t)ftell(f);
  rewind(f);
  buf = malloc(*len + 1);
  if (fread(buf, 1, *len, f) != *len) {
    fclose(f);
    free(buf);
    return NULL;
  }
  fclose(f);
  buf[*len] = 0;
  return buf;
}

/* An error a race may legitimately end with: the id taken, or gone. */
static int race_ok(const struct fastrun_error *e) {
  return e && (e->code == FASTRUN_E_ALREADY_EXISTS || e->code == FASTRUN_E_NOT_FOUND ||
               e->code == FASTRUN_E_INVALID_STATE);
}

static void *worker(void *arg) {
  char id[64];
  int t = (int)(long)arg;
  for (;;) {
    int i = atomic_fetch_add(&next_i, 1);
    struct fastrun_error *err = NULL;
    if (i >= n_total)
      break;
    if (i == n_total / 20)
      atomic_store(&done_warmup, 1);
    if (n_total >= 4 && i > 0 && i % (n_total / 4) == 0 && i / (n_total / 4) <= 3)
      atomic_store(&rss_q[i / (n_total / 4) - 1], rss_kb());
    if (i % 10 == 9) {
      int r, op = (t + i) % 3;
      snprintf(id, sizeof id, "%s-lib-shared-%d", prefix, i % SHARED);
      if (op == 0)
        r = fastrun_container_create(ctx, ctr[0], id, NULL, &err);
      else if (op == 1)
        r = fastrun_container_delete(ctx, id, 1, &err);
      else
        r = fastrun_container_kill_all(ctx, id, 9, &err);
      atomic_fetch_add(&races, 1);
      if (r < 0 && !race_ok(err)) {
        fprintf(stderr, "soak_lib: race op %d on %s: %s\n", op, id, err->message);
        atomic_fetch_add(&bad, 1);
      } else if (r < 0) {
        atomic_fetch_add(&race_errors_ok, 1);
      }
      fastrun_error_free(err);
      continue;
    }
    {
      int code = i % CODES, r;
      struct fastrun_create_options o;
      memset(&o, 0, sizeof o);
      o.struct_size = sizeof o;
      snprintf(id, sizeof id, "%s-lib-%d", prefix, i);
      r = fastrun_container_run(ctx, ctr[code], id, &o, &err);
      if (r != code) {
        fprintf(stderr, "soak_lib: %s: want exit status %d, got %d (%s)\n", id, code, r,
                err ? err->message : "no error");
        atomic_fetch_add(&bad, 1);
      }
      fastrun_error_free(err);
    }
  }
  return NULL;
}

int main(int argc, char **argv) {
  struct fastrun_context_options co;
  struct fastrun_error *err = NULL;
  pthread_t th[64];
  char path[4096], *cfg, *at;
  size_t len;
  int i, fds0 = -1, fds1;
  long rss0 = -1, rss1;

  if (argc != 6) {
    fprintf(stderr, "usage: soak_lib ROOT BUNDLE N THREADS PREFIX\n");
    return 2;
  }
  prefix = argv[5];
  n_total = atoi(argv[3]);
  n_threads = atoi(argv[4]);
  if (n_threads < 1 || n_threads > 64)
    return 2;
  memset(&co, 0, sizeof co);
  co.struct_size = sizeof co;
  co.root = argv[1];
  if (fastrun_context_new(&co, &ctx, &err) < 0) {
    fprintf(stderr, "soak_lib: context: %s\n", err->message);
    return 1;
  }
  snprintf(path, sizeof path, "%s/config.json", argv[2]);
  cfg = read_file(path, &len);
  if (!cfg || !(at = strstr(cfg, "__CODE__"))) {
    fprintf(stderr, "soak_lib: %s: no __CODE__ in it\n", path);
    return 1;
  }
  for (i = 0; i < CODES; i++) {
    /* "__CODE__" (8 bytes) becomes the digit padded with spaces: same length */
    memcpy(at, "        ", 8);
    at[0] = (char)('0' + i);
    if (fastrun_container_load_from_memory(cfg, len, argv[2], &ctr[i], &err) < 0) {
      fprintf(stderr, "soak_lib: load: %s\n", err->message);
      return 1;
    }
  }
  free(cfg);
  /* One lifecycle and one create + delete first: what the library opens once, on
     first use (the reaper's eventfd, once it owns a child: fastrun.h "Fds"),
     belongs to the baseline, not to growth. */
  {
    struct fastrun_create_options o;
    char id[64];
    memset(&o, 0, sizeof o);
    o.struct_size = sizeof o;
    snprintf(id, sizeof id, "%s-lib-warmup", prefix);
    if (fastrun_container_run(ctx, ctr[0], id, &o, &err) != 0) {
      fprintf(stderr, "soak_lib: warm-up run: %s\n", err ? err->message : "wrong status");
      return 1;
    }
    if (fastrun_container_create(ctx, ctr[0], id, NULL, &err) < 0 ||
        fastrun_container_delete(ctx, id, 1, &err) < 0) {
      fprintf(stderr, "soak_lib: warm-up create/delete: %s\n", err->message);
      return 1;
    }
  }
  fds0 = count_fds();
  if (getenv("SOAK_SHOW_FDS"))
    show_fds("before");
  for (i = 0; i < n_threads; i++)
    pthread_create(&th[i], NULL, worker, (void *)(long)i);
  while (!atomic_load(&done_warmup) && atomic_load(&next_i) < n_total)
    usleep(1000);
  rss0 = rss_kb();
  for (i = 0; i < n_threads; i++)
    pthread_join(th[i], NULL);
  for (i = 0; i < SHARED; i++) {
    char id[64];
    snprintf(id, sizeof id, "%s-lib-shared-%d", prefix, i);
    if (fastrun_container_delete(ctx, id, 1, &err) < 0) {
      fprintf(stderr, "soak_lib: final delete %s: %s\n", id, err->message);
      fastrun_error_free(err);
      err = NULL;
      atomic_fetch_add(&bad, 1);
    }
  }
  fds1 = count_fds();
  rss1 = rss_kb();
  if (fds1 != fds0)
    show_fds("after");
  printf("libfastrun: %d lifecycles (%d races, %d refused as expected), %d threads, "
         "wrong statuses or errors %d, fds %d -> %d, RSS %ld -> %ld kB "
         "(at 25/50/75 %%: %ld, %ld, %ld kB)\n",
         n_total - atomic_load(&races), atomic_load(&races), atomic_load(&race_errors_ok),
         n_threads, atomic_load(&bad), fds0, fds1, rss0, rss1, atomic_load(&rss_q[0]),
         atomic_load(&rss_q[1]), atomic_load(&rss_q[2]));
  for (i = 0; i < CODES; i++)
    fastrun_container_free(ctr[i]);
  fastrun_context_free(ctx);
  return atomic_load(&bad) || fds1 > fds0 ? 1 : 0;
}
