/* Prints libfastrun's version and exercises the error convention. */
#include <stdio.h>
#include <string.h>

#include "fastrun.h"

int main(void)
{
  fastrun_error *err = NULL;
  int sig;

  printf("libfastrun %s\n", fastrun_version());

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
