// benches/cgroup_floor.c: the kernel's own cost of a container's cgroups, with nothing
// of a runtime around it: per round, make the cgroups (one directory in each hierarchy
// the runtime uses), start a child in them (clone3 CLONE_INTO_CGROUP for the cgroup2
// tree; on v1 the child writes "0" to each hierarchy's `tasks` through fds opened
// before, as fastrun's init does), wait for its exit, remove the cgroups. And the
// same round with no cgroups (clone3 + exit + wait) to subtract.
//
// Build: cc -O2 -o cgroup_floor benches/cgroup_floor.c. Run as root, on the host's
// layout (`./cgroup_floor [ROUNDS]`: v1 hierarchies found under /sys/fs/cgroup, plus
// the cgroup2 tree at /sys/fs/cgroup/unified) and in a pure-v2 mount namespace
// (`unshare -m --propagation private sh -c 'umount -R /sys/fs/cgroup && mount -t cgroup2
// cgroup2 /sys/fs/cgroup && ./cgroup_floor'`). Prints the medians in microseconds.
// Leaves nothing behind (its cgroups are under cgfloor-PID/ and removed).
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/sched.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/vfs.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define CGROUP2_MAGIC 0x63677270
#define MAXH 32
static char hier[MAXH][320]; // v1 hierarchy mount points
static int nh;
static char v2root[320];     // the cgroup2 tree (pure v2 or hybrid's unified)

static double now_us(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1e6 + t.tv_nsec / 1e3;
}
static int cmp(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}
static void copy_file(const char *from, const char *to) {
    char b[256];
    int fd = open(from, O_RDONLY);
    int n = fd < 0 ? -1 : read(fd, b, sizeof b);
    if (fd >= 0) close(fd);
    if (n <= 0) return;
    fd = open(to, O_WRONLY);
    if (fd >= 0) { if (write(fd, b, n) < 0) perror(to); close(fd); }
}
static void mk(const char *mnt, const char *rel) {
    char p[600];
    snprintf(p, sizeof p, "%.320s/%.200s", mnt, rel);
    if (mkdir(p, 0755) && errno != EEXIST) { perror(p); exit(1); }
    if (strstr(mnt, "cpuset")) { // cpuset needs cpus and mems before a task joins
        char from[600], to[700];
        const char *files[] = {"cpuset.cpus", "cpuset.mems"};
        for (int i = 0; i < 2; i++) {
            snprintf(to, sizeof to, "%.600s/%.20s", p, files[i]);
            snprintf(from, sizeof from, "%.320s/%.20s", mnt, files[i]);
            copy_file(from, to);
        }
    }
}
static void rm(const char *mnt, const char *rel) {
    char p[600];
    snprintf(p, sizeof p, "%.320s/%.200s", mnt, rel);
    rmdir(p);
}
static pid_t spawn(int cgfd, const int *tasks, int nt) {
    struct clone_args a = {0};
    a.exit_signal = SIGCHLD;
    if (cgfd >= 0) { a.flags = CLONE_INTO_CGROUP; a.cgroup = cgfd; }
    long pid = syscall(SYS_clone3, &a, sizeof a);
    if (pid == 0) {
        for (int i = 0; i < nt; i++)
            if (write(tasks[i], "0", 1) != 1) _exit(2);
        _exit(0);
    }
    return pid;
}
int main(int argc, char **argv) {
    int n = argc > 1 ? atoi(argv[1]) : 200;
    struct statfs s;
    if (statfs("/sys/fs/cgroup", &s)) { perror("/sys/fs/cgroup"); return 1; }
    if (s.f_type == CGROUP2_MAGIC) {
        snprintf(v2root, sizeof v2root, "/sys/fs/cgroup");
    } else {
        DIR *d = opendir("/sys/fs/cgroup");
        struct dirent *e;
        while (d && (e = readdir(d)) && nh < MAXH) {
            char p[300];
            snprintf(p, sizeof p, "/sys/fs/cgroup/%.256s", e->d_name);
            struct stat st;
            if (e->d_name[0] == '.' || lstat(p, &st) || !S_ISDIR(st.st_mode)) continue;
            if (statfs(p, &s)) continue;
            if (s.f_type == CGROUP2_MAGIC) snprintf(v2root, sizeof v2root, "%.300s", p);
            else snprintf(hier[nh++], sizeof hier[0], "%.300s", p);
        }
        if (d) closedir(d);
    }
    char base[64];
    snprintf(base, sizeof base, "cgfloor-%d", getpid());
    for (int h = 0; h < nh; h++) mk(hier[h], base);
    if (v2root[0]) mk(v2root, base);
    double *with = calloc(n, sizeof *with), *without = calloc(n, sizeof *without);
    for (int i = 0; i < n + 10; i++) {
        // without cgroups
        double t0 = now_us();
        pid_t p = spawn(-1, NULL, 0);
        int st;
        waitpid(p, &st, 0);
        double t1 = now_us();
        // with: make, join, exit, remove
        char rel[128];
        snprintf(rel, sizeof rel, "%s/c%d", base, i);
        int tasks[MAXH], cgfd = -1;
        double t2 = now_us();
        for (int h = 0; h < nh; h++) {
            mk(hier[h], rel);
            char q[700];
            snprintf(q, sizeof q, "%.320s/%.200s/tasks", hier[h], rel);
            tasks[h] = open(q, O_WRONLY | O_CLOEXEC);
            if (tasks[h] < 0) { perror(q); return 1; }
        }
        if (v2root[0]) {
            mk(v2root, rel);
            char q[700];
            snprintf(q, sizeof q, "%.320s/%.200s", v2root, rel);
            cgfd = open(q, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        }
        p = spawn(cgfd, tasks, nh);
        waitpid(p, &st, 0);
        if (!WIFEXITED(st) || WEXITSTATUS(st)) { fprintf(stderr, "child failed to join\n"); return 1; }
        for (int h = 0; h < nh; h++) close(tasks[h]);
        if (cgfd >= 0) close(cgfd);
        for (int h = 0; h < nh; h++) rm(hier[h], rel);
        if (v2root[0]) rm(v2root, rel);
        double t3 = now_us();
        if (i >= 10) { without[i - 10] = t1 - t0; with[i - 10] = t3 - t2; }
    }
    for (int h = 0; h < nh; h++) rm(hier[h], base);
    if (v2root[0]) rm(v2root, base);
    qsort(with, n, sizeof *with, cmp);
    qsort(without, n, sizeof *without, cmp);
    printf("layout: %d v1 hierarchies%s; %d rounds\n", nh, v2root[0] ? " + cgroup2" : "", n);
    printf("start+exit without cgroups: %.0f us median\n", without[n / 2]);
    printf("start+exit in new cgroups (mkdir, join, rmdir): %.0f us median\n", with[n / 2]);
    printf("cgroups' own cost: %.0f us\n", with[n / 2] - without[n / 2]);
    return 0;
}
