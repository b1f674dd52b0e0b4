/*
 * The smallest use of libfastrun: run the container of a bundle in the foreground
 * and print its exit status.
 *
 *   cc example.c $(pkg-config --cflags --libs fastrun) -o example
 *   ./example /run/fastrun /path/to/bundle my-container
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
  if (fastrun_context_new(&copts, &ctx, &err) < 0
      || fastrun_container_load(argv[2], &container, &err) < 0
      || (status = fastrun_container_run(ctx, container, argv[3], NULL, &err)) < 0) {
    fprintf(stderr, "fastrun: %s (code %d, errno %d)\n", err->message, err->code, err->errno_value);
    fastrun_error_free(err);
  } else {
    printf("container %s exited with status %d\n", argv[3], status);
  }
  fastrun_container_free(container);
  fastrun_context_free(ctx);
  return status < 0 ? 1 : 0;
}
