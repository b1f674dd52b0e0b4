/* Prints libfastrun's version and exercises the error convention. */
#include <stdio.h>
#include <string.h>

#include "fastrun.h"

int main(void)
{
  fastrun_error *err = NULL;
  int sig;

  printf("libfastrun %s\n", fastrun_version());
  /* The header's version macros name the same version. */
  char header[64];
  snprintf(header, sizeof header, "%d.%d.%d", FASTRUN_VERSION_MAJOR, FASTRUN_VERSION_MINOR,
           FASTRUN_VERSION_PATCH);
  if (strcmp(header, fastrun_version()) != 0 || strcmp(FASTRUN_VERSION_STRING, header) != 0) {
    fprintf(stderr, "header %s (%s), library %s\n", header, FASTRUN_VERSION_STRING, fastrun_version());
    return 1;
  }

  sig = fastrun_parse_signal("SIGKILL", &err);
  if (sig != 9 || err != NULL) {
    fprintf(stderr, "fastrun_parse_signal(SIGKILL) = %d\n", sig);
    return 1;
  }

  sig = fastrun_parse_signal("NOSUCHSIGNAL", &err);
  if (sig != -FASTRUN_E_INVALID_ARGUMENT || err == NULL || err->code != FASTRUN_E_INVALID_ARGUMENT
      || strstr(err->message, "NOSUCHSIGNAL") == NULL) {
    fprintf(stderr, "fastrun_parse_signal(NOSUCHSIGNAL) = %d\n", sig);
    return 1;
  }
  printf("error %d: %s\n", err->code, err->message);
  fastrun_error_free(err);
  fastrun_error_free(NULL);
  return 0;
}
