/*
 * cove-layer-fs: writes an image layer's entries into a layer directory, as the builder
 * (which parsed and checked the archive) tells it. Runs as root:
 *
 *   cove-layer-fs ROOT < records
 *
 * Each record is NUL-terminated fields, the first naming the operation; PATH is relative to
 * ROOT, modes are octal, times are seconds and nanoseconds:
 *   D PATH MODE UID GID                      a directory (an existing one is kept and updated)
 *   F PATH MODE UID GID SEC NSEC SIZE        a regular file; SIZE raw bytes of content follow
 *   S PATH TARGET UID GID SEC NSEC           a symlink (TARGET is never followed here)
 *   H PATH TARGET                            a hard link to TARGET, a path inside ROOT
 *   N PATH TYPE MODE MAJOR MINOR UID GID SEC NSEC
 *                                            a device (TYPE c or b) or fifo (TYPE p)
 *   W PATH                                   an overlayfs whiteout: char device 0:0, mode 0
 *   O PATH                                   trusted.overlay.opaque=y on the directory PATH
 *   X PATH NAME HEXVALUE                     the extended attribute NAME on PATH
 *   R PATH                                   removes PATH, recursively for a directory
 *   T PATH SEC NSEC                          sets PATH's mtime (directories, at the end)
 * Every parent is opened with openat2(RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS), and the last
 * component is never followed, so no record can reach outside ROOT, whatever is in it.
 * Creating records replace an existing non-directory at PATH.
 *
 * Errors go to stderr as one line naming the record's path; exit 1 on failure, 2 on bad usage.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#define MAX_FIELDS 10
#define MAX_FIELD 8192

static int root_fd;

static void fail(const char *what, const char *path) {
  fprintf(stderr, "cove-layer-fs: %s %s: %s\n", what, path, strerror(errno));
  exit(1);
}

static void usage(const char *why) {
  fprintf(stderr, "cove-layer-fs: %s\n", why);
  exit(2);
}

static int open_beneath(const char *path, int flags) {
  struct open_how how = {
      .flags = (unsigned long long)(flags | O_CLOEXEC),
      .resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV,
  };
  return (int)syscall(SYS_openat2, root_fd, path, &how, sizeof how);
}

/* Opens PATH's parent beneath the root and returns its fd; *base points at the last component. */
static int open_parent(char *path, const char **base) {
  char *slash = strrchr(path, '/');
  const char *name = slash ? slash + 1 : path;
  if (*name == '\0' || strcmp(name, ".") == 0 || strcmp(name, "..") == 0 || path[0] == '/') {
    errno = EINVAL;
    fail("refusing path", path);
  }
  *base = name;
  if (!slash) return dup(root_fd);
  *slash = '\0';
  int fd = open_beneath(path, O_PATH | O_DIRECTORY);
  *slash = '/';
  if (fd < 0) fail("cannot open the parent of", path);
  return fd;
}

static void clear(int dir, const char *base, const char *path) {
  if (unlinkat(dir, base, 0) == 0 || errno == ENOENT) return;
  if (errno == EISDIR && unlinkat(dir, base, AT_REMOVEDIR) == 0) return;
  fail("cannot replace", path);
}

static unsigned long long number(const char *text, int base, const char *path) {
  char *end;
  errno = 0;
  unsigned long long n = strtoull(text, &end, base);
  if (errno || *text == '\0' || *end != '\0') {
    errno = EINVAL;
    fail("bad number in record for", path);
  }
  return n;
}

static int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

/* Through an O_PATH fd and its /proc link: opening a device or fifo for real could block or act. */
static void set_xattr(const char *path, const char *name, const char *hex) {
  static unsigned char value[MAX_FIELD / 2];
  size_t len = strlen(hex);
  if (len % 2 != 0) usage("odd hex value");
  for (size_t i = 0; i < len / 2; i++) {
    int hi = hex_digit(hex[2 * i]), lo = hex_digit(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) usage("bad hex value");
    value[i] = (unsigned char)(hi * 16 + lo);
  }
  int fd = open_beneath(path, O_PATH);
  if (fd < 0) fail("cannot open", path);
  char proc[64];
  snprintf(proc, sizeof proc, "/proc/self/fd/%d", fd);
  if (setxattr(proc, name, value, len / 2, 0) != 0) fail("cannot set an xattr on", path);
  close(fd);
}

/* Reads one NUL-terminated field; returns 0 at a clean end of input. */
static int read_field(char *buf) {
  int c, n = 0;
  while ((c = getchar()) != EOF) {
    if (c == '\0') {
      buf[n] = '\0';
      return 1;
    }
    if (n == MAX_FIELD - 1) usage("field too long");
    buf[n++] = (char)c;
  }
  if (n != 0) usage("input ends inside a record");
  return 0;
}

static void remove_tree(int dir, const char *base, const char *path) {
  if (unlinkat(dir, base, 0) == 0 || errno == ENOENT) return;
  if (errno != EISDIR) fail("cannot remove", path);
  int fd = openat(dir, base, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) fail("cannot open for removal", path);
  DIR *d = fdopendir(fd);
  if (!d) fail("cannot list", path);
  struct dirent *e;
  while ((e = readdir(d)) != NULL) {
    if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
    remove_tree(fd, e->d_name, path);
  }
  closedir(d);
  if (unlinkat(dir, base, AT_REMOVEDIR) != 0) fail("cannot remove", path);
}

static void owner_mode_time(int dir, const char *base, const char *path, const char *uid, const char *gid, const char *mode, const char *sec, const char *nsec) {
  if (fchownat(dir, base, (uid_t)number(uid, 10, path), (gid_t)number(gid, 10, path), AT_SYMLINK_NOFOLLOW) != 0) fail("cannot chown", path);
  /* After chown, which clears setuid and setgid; never on a symlink (mode is NULL then). */
  if (mode && fchmodat(dir, base, (mode_t)number(mode, 8, path) & 07777, 0) != 0) fail("cannot chmod", path);
  if (sec) {
    struct timespec times[2] = {{.tv_sec = 0, .tv_nsec = UTIME_OMIT}, {.tv_sec = (time_t)number(sec, 10, path), .tv_nsec = (long)number(nsec, 10, path)}};
    if (utimensat(dir, base, times, AT_SYMLINK_NOFOLLOW) != 0) fail("cannot set the mtime of", path);
  }
}

static void write_file(int dir, const char *base, const char *path, unsigned long long size) {
  static char buf[1 << 20];
  int fd = openat(dir, base, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0) fail("cannot create", path);
  while (size > 0) {
    size_t want = size < sizeof buf ? (size_t)size : sizeof buf;
    size_t got = fread(buf, 1, want, stdin);
    if (got == 0) usage("input ends inside a file's content");
    for (size_t off = 0; off < got;) {
      ssize_t n = write(fd, buf + off, got - off);
      if (n < 0) fail("cannot write", path);
      off += (size_t)n;
    }
    size -= got;
  }
  if (close(fd) != 0) fail("cannot close", path);
}

struct op {
  const char *name;
  int fields;
};

static const struct op ops[] = {{"D", 5}, {"F", 8}, {"S", 7}, {"H", 3}, {"N", 10}, {"W", 2}, {"O", 2}, {"X", 4}, {"R", 2}, {"T", 4}};

int main(int argc, char **argv) {
  if (argc != 2) usage("usage: cove-layer-fs ROOT < records");
  root_fd = open(argv[1], O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (root_fd < 0) fail("cannot open", argv[1]);
  /* A larger pipe means fewer switches between Node and the helper on big files; best effort. */
  (void)fcntl(0, F_SETPIPE_SZ, 1 << 20);
  static char stdin_buf[1 << 20];
  setvbuf(stdin, stdin_buf, _IOFBF, sizeof stdin_buf);
  umask(0);
  static char f[MAX_FIELDS][MAX_FIELD];
  for (;;) {
    if (!read_field(f[0])) break;
    int want = 0;
    for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++)
      if (strcmp(f[0], ops[i].name) == 0) want = ops[i].fields;
    if (want == 0) usage("unknown operation");
    for (int i = 1; i < want; i++)
      if (!read_field(f[i])) usage("input ends inside a record");
    const char op = f[0][0];
    char *path = f[1];
    if (op == 'O') {
      int fd = open_beneath(path, O_RDONLY | O_DIRECTORY);
      if (fd < 0) fail("cannot open directory", path);
      if (fsetxattr(fd, "trusted.overlay.opaque", "y", 1, 0) != 0) fail("cannot mark opaque", path);
      close(fd);
      continue;
    }
    if (op == 'X') {
      set_xattr(path, f[2], f[3]);
      continue;
    }
    const char *base;
    int dir = open_parent(path, &base);
    switch (op) {
      case 'D': {
        struct stat st;
        if (fstatat(dir, base, &st, AT_SYMLINK_NOFOLLOW) == 0 && !S_ISDIR(st.st_mode)) clear(dir, base, path);
        if (mkdirat(dir, base, 0755) != 0 && errno != EEXIST) fail("cannot create directory", path);
        owner_mode_time(dir, base, path, f[3], f[4], f[2], NULL, NULL);
        break;
      }
      case 'F':
        clear(dir, base, path);
        write_file(dir, base, path, number(f[7], 10, path));
        owner_mode_time(dir, base, path, f[3], f[4], f[2], f[5], f[6]);
        break;
      case 'S':
        clear(dir, base, path);
        if (symlinkat(f[2], dir, base) != 0) fail("cannot create symlink", path);
        owner_mode_time(dir, base, path, f[3], f[4], NULL, f[5], f[6]);
        break;
      case 'H': {
        const char *target_base;
        int target_dir = open_parent(f[2], &target_base);
        clear(dir, base, path);
        if (linkat(target_dir, target_base, dir, base, 0) != 0) fail("cannot link", path);
        close(target_dir);
        break;
      }
      case 'R':
        remove_tree(dir, base, path);
        break;
      case 'T': {
        struct timespec times[2] = {{.tv_sec = 0, .tv_nsec = UTIME_OMIT}, {.tv_sec = (time_t)number(f[2], 10, path), .tv_nsec = (long)number(f[3], 10, path)}};
        if (utimensat(dir, base, times, AT_SYMLINK_NOFOLLOW) != 0) fail("cannot set the mtime of", path);
        break;
      }
      case 'W':
        clear(dir, base, path);
        if (mknodat(dir, base, S_IFCHR | 0, makedev(0, 0)) != 0) fail("cannot create whiteout", path);
        if (fchownat(dir, base, 0, 0, AT_SYMLINK_NOFOLLOW) != 0) fail("cannot chown", path);
        break;
      case 'N': {
        const char *type = f[2];
        mode_t kind = strcmp(type, "c") == 0 ? S_IFCHR : strcmp(type, "b") == 0 ? S_IFBLK : strcmp(type, "p") == 0 ? S_IFIFO : 0;
        if (kind == 0) usage("unknown node type");
        dev_t dev = makedev((unsigned)number(f[4], 10, path), (unsigned)number(f[5], 10, path));
        clear(dir, base, path);
        if (mknodat(dir, base, kind | 0600, kind == S_IFIFO ? 0 : dev) != 0) fail("cannot create node", path);
        owner_mode_time(dir, base, path, f[6], f[7], f[3], f[8], f[9]);
        break;
      }
    }
    close(dir);
  }
  return 0;
}
