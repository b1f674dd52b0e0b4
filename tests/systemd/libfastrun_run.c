/*
 * libfastrun with the systemd cgroup driver (tests/systemd/run.sh, in the guest):
 * runs the container of BUNDLE in the foreground with the context option
 * systemd_cgroup = 1 and prints its exit status.
 *
 *   libfastrun_run ROOT BUNDLE ID
 */
#include <stdio.h>

#include "fastrun.h"

int main(int argc, char **argv)
{
  struct fastrun_context_options copts = {0};
  fastrun_context *ctx = NULL;
  fastrun_container *container = NULL;
  fastrun_error *err = NULL;
  int status = -1;

  if (argc != 4) {
    fprintf(stderr, "usage: %s ROOT BUNDLE ID\n", argv[0]);
    return 2;
  }
  copts.struct_size = sizeof copts;
  copts.root = argv[1];
  copts.systemd_cgroup = 1;
  if (fastrun_context_new(&copts, &ctx, &err) < 0
      || fastrun_container_load(argv[2], &container, &err) < 0
      || (status = fastrun_container_run(ctx, container, argv[3], NULL, &err)) < 0) {
    fprintf(stderr, "fastrun: %s (code %d)\n", err->message, err->code);
    fastrun_error_free(err);
  } else {
    printf("exit status %d\n", status);
  }
  fastrun_container_free(container);
  fastrun_context_free(ctx);
  return status < 0 ? 1 : 0;
}
