/* The runc-oracle observer: run as a container's process (under runc and under
 * fastrun, same bundle and command line), it writes what it sees as `key=value`
 * lines to the file named by argv[1] (or stdout when that is "-" or cannot be
 * opened). tests/cli/oracle (mod.rs) compares the two reports field by field.
 * Built with `cc -static` by the test; nothing here changes the container except
 * the report file and harmless failing system calls. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <net/if.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/personality.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/types.h>
#include <termios.h>
#include <unistd.h>

static FILE *out;

/* One `key=value` line; newlines in the value become "\n". */
static void kv(const char *key, const char *fmt, ...) {
  char buf[8192];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  fprintf(out, "%s=", key);
  for (char *p = buf; *p; p++) {
    if (*p == '\n')
      fputs("\\n", out);
    else
      fputc(*p, out);
  }
  fputc('\n', out);
}

static int read_file(const char *path, char *buf, size_t len) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return -errno;
  size_t n = 0;
  for (;;) {
    ssize_t r = read(fd, buf + n, len - 1 - n);
    if (r <= 0)
      break;
    n += r;
    if (n >= len - 1)
      break;
  }
  close(fd);
  buf[n] = 0;
  while (n > 0 && buf[n - 1] == '\n')
    buf[--n] = 0;
  return (int)n;
}

/* Every line of a file as `key=line`. */
static void lines(const char *key, const char *path) {
  static char buf[1 << 16];
  int n = read_file(path, buf, sizeof buf);
  if (n < 0) {
    kv(key, "ERR %s", strerror(-n));
    return;
  }
  char *save, *l = strtok_r(buf, "\n", &save);
  while (l) {
    kv(key, "%s", l);
    l = strtok_r(NULL, "\n", &save);
  }
}

static void status_fields(void) {
  static const char *want[] = {"CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb",
                               "NoNewPrivs", "Seccomp", "Umask", "SigBlk", "SigIgn",
                               NULL};
  static char buf[1 << 14];
  if (read_file("/proc/self/status", buf, sizeof buf) < 0)
    return;
  char *save, *l = strtok_r(buf, "\n", &save);
  while (l) {
    for (int i = 0; want[i]; i++) {
      size_t n = strlen(want[i]);
      if (!strncmp(l, want[i], n) && l[n] == ':') {
        char *v = l + n + 1;
        while (*v == ' ' || *v == '\t')
          v++;
        char key[64];
        snprintf(key, sizeof key, "status.%s", want[i]);
        kv(key, "%s", v);
      }
    }
    l = strtok_r(NULL, "\n", &save);
  }
}

static const char *ftype(mode_t m) {
  switch (m & S_IFMT) {
  case S_IFREG: return "file";
  case S_IFDIR: return "dir";
  case S_IFCHR: return "chr";
  case S_IFBLK: return "blk";
  case S_IFIFO: return "fifo";
  case S_IFSOCK: return "sock";
  case S_IFLNK: return "link";
  }
  return "?";
}

static void fd_info(int fd) {
  char key[64], link[256], path[64];
  struct stat st;
  snprintf(key, sizeof key, "fd.%d", fd);
  if (fstat(fd, &st) < 0) {
    kv(key, "closed");
    return;
  }
  snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
  ssize_t n = readlink(path, link, sizeof link - 1);
  link[n > 0 ? n : 0] = 0;
  /* pipe:[ino] and socket:[ino] differ in the number only. */
  char *br = strchr(link, '[');
  if (br && (!strncmp(link, "pipe:", 5) || !strncmp(link, "socket:", 7)))
    *br = 0;
  if (isatty(fd)) {
    struct termios t;
    struct winsize ws = {0};
    tcgetattr(fd, &t);
    ioctl(fd, TIOCGWINSZ, &ws);
    pid_t fg = tcgetpgrp(fd);
    kv(key, "tty %s uid=%u gid=%u mode=%o iflag=%o oflag=%o cflag=%o lflag=%o size=%ux%u fg=%s",
       link, st.st_uid, st.st_gid, st.st_mode & 07777, t.c_iflag, t.c_oflag, t.c_cflag,
       t.c_lflag, ws.ws_row, ws.ws_col,
       fg == getpgrp() ? "self" : fg < 0 ? strerror(errno) : "other");
  } else {
    kv(key, "%s %s", ftype(st.st_mode), link);
  }
}

static void fds(void) {
  for (int fd = 0; fd <= 2; fd++)
    fd_info(fd);
  DIR *d = opendir("/proc/self/fd");
  if (!d)
    return;
  int self = dirfd(d);
  struct dirent *e;
  while ((e = readdir(d))) {
    int fd = atoi(e->d_name);
    if (e->d_name[0] == '.' || fd <= 2 || fd == self || fd == fileno(out))
      continue;
    fd_info(fd);
  }
  closedir(d);
}

static void dev_dir(const char *dir) {
  DIR *d = opendir(dir);
  if (!d) {
    kv("dev", "%s ERR %s", dir, strerror(errno));
    return;
  }
  struct dirent *e;
  while ((e = readdir(d))) {
    if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
      continue;
    char p[512];
    struct stat st;
    snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
    if (lstat(p, &st) < 0)
      continue;
    if (S_ISLNK(st.st_mode)) {
      char t[256];
      ssize_t n = readlink(p, t, sizeof t - 1);
      t[n > 0 ? n : 0] = 0;
      kv("dev", "%s link -> %s", p, t);
    } else if (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode)) {
      kv("dev", "%s %s %u:%u mode=%o uid=%u gid=%u", p, ftype(st.st_mode),
         major(st.st_rdev), minor(st.st_rdev), st.st_mode & 07777, st.st_uid, st.st_gid);
    } else {
      kv("dev", "%s %s mode=%o uid=%u gid=%u", p, ftype(st.st_mode), st.st_mode & 07777,
         st.st_uid, st.st_gid);
    }
  }
  closedir(d);
}

static void probe(const char *name, long r) {
  char key[64];
  snprintf(key, sizeof key, "syscall.%s", name);
  if (r < 0)
    kv(key, "%s", strerrorname_np(errno) ? strerrorname_np(errno) : "?");
  else
    kv(key, "ok");
}

static const char *rel(pid_t v, pid_t self) {
  if (v == self)
    return "self";
  if (v == 0)
    return "0";
  if (v < 0)
    return "error";
  return "other";
}

int main(int argc, char **argv) {
  /* Before anything that could change what is observed. */
  mode_t mask = umask(022);
  umask(mask);

  out = stdout;
  if (argc > 1 && strcmp(argv[1], "-")) {
    FILE *f = fopen(argv[1], "we");
    if (f)
      out = f;
  }
  for (int i = 0; i < argc; i++) {
    char key[32];
    snprintf(key, sizeof key, "argv.%d", i);
    kv(key, "%s", argv[i]);
  }
  extern char **environ;
  for (char **e = environ; *e; e++)
    kv("env", "%s", *e);
  char cwd[4096];
  kv("cwd", "%s", getcwd(cwd, sizeof cwd) ? cwd : strerror(errno));
  kv("umask", "%04o", mask);

  uid_t r, e, s;
  gid_t gr, ge, gs;
  getresuid(&r, &e, &s);
  getresgid(&gr, &ge, &gs);
  kv("uid", "%u/%u/%u", r, e, s);
  kv("gid", "%u/%u/%u", gr, ge, gs);
  gid_t groups[256];
  int ng = getgroups(256, groups);
  for (int i = 0; i < ng; i++)
    kv("groups", "%u", groups[i]);
  status_fields();

  pid_t pid = getpid();
  kv("pid", "%s", pid == 1 ? "1" : "other");
  kv("ppid", "%s", getppid() == 0 ? "0" : "other");
  kv("pgrp", "%s", rel(getpgrp(), pid));
  kv("sid", "%s", rel(getsid(0), pid));
  {
    char buf[64];
    read_file("/proc/self/oom_score_adj", buf, sizeof buf);
    kv("oom_score_adj", "%s", buf);
    kv("personality", "%x", personality(0xffffffff));
  }

  static const char *ns[] = {"cgroup", "ipc", "mnt", "net", "pid", "pid_for_children",
                             "time", "time_for_children", "user", "uts", NULL};
  for (int i = 0; ns[i]; i++) {
    char p[64], t[128], key[64];
    snprintf(p, sizeof p, "/proc/self/ns/%s", ns[i]);
    snprintf(key, sizeof key, "ns.%s", ns[i]);
    ssize_t n = readlink(p, t, sizeof t - 1);
    t[n > 0 ? n : 0] = 0;
    kv(key, "%s", n > 0 ? t : strerror(errno));
  }
  lines("uid_map", "/proc/self/uid_map");
  lines("gid_map", "/proc/self/gid_map");
  lines("setgroups", "/proc/self/setgroups");
  lines("cgroup", "/proc/self/cgroup");
  lines("mnt", "/proc/self/mountinfo");

  static const char *rl[] = {"CPU", "FSIZE", "DATA", "STACK", "CORE", "RSS", "NPROC",
                             "NOFILE", "MEMLOCK", "AS", "LOCKS", "SIGPENDING", "MSGQUEUE",
                             "NICE", "RTPRIO", "RTTIME"};
  for (int i = 0; i < 16; i++) {
    struct rlimit l;
    char key[64];
    snprintf(key, sizeof key, "rlimit.%s", rl[i]);
    getrlimit(i, &l);
    kv(key, "%lld:%lld", (long long)l.rlim_cur, (long long)l.rlim_max);
  }

  /* sysctls: a fixed list, plus the space-separated names in ORACLE_SYSCTLS. */
  char names[4096] = "kernel.hostname kernel.domainname net.ipv4.ip_forward "
                     "net.ipv4.ping_group_range net.ipv4.ip_unprivileged_port_start "
                     "kernel.shmmax kernel.msgmax fs.mqueue.msg_max";
  const char *extra = getenv("ORACLE_SYSCTLS");
  if (extra) {
    strncat(names, " ", sizeof names - strlen(names) - 1);
    strncat(names, extra, sizeof names - strlen(names) - 1);
  }
  char *save, *name = strtok_r(names, " ", &save);
  while (name) {
    char p[512], v[512], key[300];
    snprintf(p, sizeof p, "/proc/sys/%s", name);
    for (char *c = p + 10; *c; c++)
      if (*c == '.')
        *c = '/';
    int n = read_file(p, v, sizeof v);
    snprintf(key, sizeof key, "sysctl.%s", name);
    if (n < 0)
      kv(key, "ERR %s", strerror(-n));
    else
      kv(key, "%s", v);
    name = strtok_r(NULL, " ", &save);
  }

  {
    int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    struct ifreq ifr = {0};
    strcpy(ifr.ifr_name, "lo");
    if (s < 0 || ioctl(s, SIOCGIFFLAGS, &ifr) < 0)
      kv("lo", "ERR %s", strerror(errno));
    else
      kv("lo", "%s", (ifr.ifr_flags & IFF_UP) ? "up" : "down");
    if (s >= 0)
      close(s);
    struct if_nameindex *ifs = if_nameindex();
    for (struct if_nameindex *i = ifs; i && i->if_name; i++)
      kv("netif", "%s", i->if_name);
    if (ifs)
      if_freenameindex(ifs);
  }
  {
    char h[256];
    read_file("/proc/sys/kernel/hostname", h, sizeof h);
    kv("hostname", "%s", h);
  }
  fds();
  dev_dir("/dev");
  dev_dir("/dev/pts");
  dev_dir("/dev/shm");
  dev_dir("/dev/mqueue");
  {
    struct stat st;
    kv("root.writable", "%s", access("/", W_OK) == 0 ? "yes" : strerror(errno));
    kv("cwd.stat", "%s", stat(".", &st) == 0 ? ftype(st.st_mode) : strerror(errno));
  }

  /* Seccomp: harmless calls that fail or do nothing when allowed. */
  probe("1000", syscall(1000));
  probe("clone3", syscall(SYS_clone3, NULL, 0));
  probe("getpriority", syscall(SYS_getpriority, PRIO_PROCESS, 0));
  probe("chroot", syscall(SYS_chroot, "/nonexistent-oracle"));
  probe("sethostname", syscall(SYS_sethostname, NULL, (size_t)-1));
  probe("mkdirat", syscall(SYS_mkdirat, -1, "", 0));
  probe("faccessat2", syscall(SYS_faccessat2, -1, "", 0, 0));
  probe("kexec_load", syscall(SYS_kexec_load, 0, 0, NULL, 0xffffffffUL));
  probe("unshare0", syscall(SYS_unshare, 0));
  probe("keyctl", syscall(SYS_keyctl, -1, 0, 0, 0, 0));
  probe("mount", syscall(SYS_mount, NULL, "/nonexistent-oracle", NULL, 0, NULL));
  probe("personality", syscall(SYS_personality, 0xffffffffUL));
  kv("done", "1");
  fflush(out);
  return 0;
}
