// benches/clone3_floor.c: the floor of a container start, built by benches/start.rs
// (`cc -O2 -static`). One clone3 into new mount, pid, ipc, uts, net and cgroup
// namespaces; the child chroots into ROOTFS and execs /bin/true; the parent waits.
// What any runtime must at least do; no mounts, no cgroup, no state.
// Usage: clone3-floor ROOTFS (exit status: the child's).
#define _GNU_SOURCE
#include <linux/sched.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: %s ROOTFS\n", argv[0]);
    return 2;
  }
  struct clone_args a;
  memset(&a, 0, sizeof a);
  a.flags = CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWIPC | CLONE_NEWUTS | CLONE_NEWNET |
            CLONE_NEWCGROUP;
  a.exit_signal = SIGCHLD;
  long pid = syscall(SYS_clone3, &a, sizeof a);
  if (pid < 0) {
    perror("clone3");
    return 1;
  }
  if (pid == 0) {
    char *const args[] = {"/bin/true", NULL};
    char *const env[] = {NULL};
    if (chroot(argv[1]) != 0 || chdir("/") != 0)
      _exit(126);
    execve("/bin/true", args, env);
    _exit(127);
  }
  int st;
  if (waitpid((pid_t)pid, &st, 0) < 0) {
    perror("waitpid");
    return 1;
  }
  return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}
