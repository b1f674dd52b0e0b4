/* A program that embeds libfastrun and runs containers in-process, with just
 * enough of runc's command line for the CVE-2019-5736 test of an embedding host:
 *
 *   embedder --root DIR run [--detach] --bundle DIR [--pid-file FILE] ID
 *
 * The container's init is a clone of THIS program (no runtime binary is executed),
 * so /proc/self/exe in it points at this program until the init execs the user
 * program: the test checks that a container cannot reach and overwrite it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <fastrun.h>

static int die(const char *what, struct fastrun_error *err) {
  fprintf(stderr, "embedder: %s: %s\n", what, err ? err->message : "bad arguments");
  fastrun_error_free(err);
  return 1;
}

int main(int argc, char **argv) {
  const char *root = NULL, *bundle = NULL, *pid_file = NULL, *id = NULL;
  int detach = 0, i;
  struct fastrun_error *err = NULL;
  struct fastrun_context_options copts;
  struct fastrun_create_options opts;
  struct fastrun_context *ctx = NULL;
  struct fastrun_container *c = NULL;
  int ret;

  for (i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--root") == 0 && i + 1 < argc)
      root = argv[++i];
    else if (strcmp(argv[i], "run") == 0)
      continue;
    else if (strcmp(argv[i], "--detach") == 0 || strcmp(argv[i], "-d") == 0)
      detach = 1;
    else if (strcmp(argv[i], "--bundle") == 0 && i + 1 < argc)
      bundle = argv[++i];
    else if (strcmp(argv[i], "--pid-file") == 0 && i + 1 < argc)
      pid_file = argv[++i];
    else
      id = argv[i];
  }
  if (root == NULL || bundle == NULL || id == NULL)
    return die("usage: embedder --root DIR run [--detach] --bundle DIR [--pid-file F] ID", NULL);

  memset(&copts, 0, sizeof copts);
  copts.struct_size = sizeof copts;
  copts.root = root;
  /* As the fastrun CLI: FASTRUN_SPAWN=fork|vm picks the clone (default auto). */
  if (getenv("FASTRUN_SPAWN") != NULL && strcmp(getenv("FASTRUN_SPAWN"), "vm") == 0)
    copts.spawn_mode = FASTRUN_SPAWN_VM;
  else if (getenv("FASTRUN_SPAWN") != NULL && strcmp(getenv("FASTRUN_SPAWN"), "fork") == 0)
    copts.spawn_mode = FASTRUN_SPAWN_FORK;
  if (fastrun_context_new(&copts, &ctx, &err) < 0)
    return die("context", err);
  if (fastrun_container_load(bundle, &c, &err) < 0)
    return die("load", err);
  memset(&opts, 0, sizeof opts);
  opts.struct_size = sizeof opts;
  opts.pid_file = pid_file;
  opts.detach = detach;
  ret = fastrun_container_run(ctx, c, id, &opts, &err);
  fastrun_container_free(c);
  fastrun_context_free(ctx);
  if (ret < 0)
    return die("run", err);
  return ret;
}
