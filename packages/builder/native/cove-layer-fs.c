/*
 * cove-layer-fs: the parts of unpacking an image layer that Node.js has no API for (mknod,
 * xattrs). Runs as root on a layer directory that the builder is filling in:
 *
 *   cove-layer-fs ROOT < records
 *
 * Each record is NUL-terminated fields, the first naming the operation:
 *   W PATH                                   an overlayfs whiteout: char device 0:0, mode 0
 *   O PATH                                   trusted.overlay.opaque=y on the directory PATH
 *   N PATH TYPE MODE MAJOR MINOR UID GID SEC NSEC
 *                                            a device (TYPE c or b) or fifo (TYPE p) with that
 *                                            mode (octal), owner and mtime
 *   X PATH NAME HEXVALUE                     the extended attribute NAME on PATH (a file or
 *                                            directory; the builder allows only user.* and
 *                                            security.capability)
 * PATH is relative to ROOT. Every parent is opened with openat2(RESOLVE_BENEATH |
 * RESOLVE_NO_SYMLINKS), so no record can reach outside ROOT, whatever a hostile layer put
 * there before. An existing non-directory at PATH is replaced.
 *
 * Errors go to stderr as one line naming the record's path; exit 1 on failure, 2 on bad usage.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
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

int main(int argc, char **argv) {
  if (argc != 2) usage("usage: cove-layer-fs ROOT < records");
  root_fd = open(argv[1], O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (root_fd < 0) fail("cannot open", argv[1]);
  static char fields[MAX_FIELDS][MAX_FIELD];
  for (;;) {
    if (!read_field(fields[0])) break;
    const char *op = fields[0];
    int want = strcmp(op, "N") == 0 ? 10 : strcmp(op, "X") == 0 ? 4 : (strcmp(op, "W") == 0 || strcmp(op, "O") == 0) ? 2 : 0;
    if (want == 0) usage("unknown operation");
    for (int i = 1; i < want; i++)
      if (!read_field(fields[i])) usage("input ends inside a record");
    char *path = fields[1];
    if (strcmp(op, "O") == 0) {
      int fd = open_beneath(path, O_RDONLY | O_DIRECTORY);
      if (fd < 0) fail("cannot open directory", path);
      if (fsetxattr(fd, "trusted.overlay.opaque", "y", 1, 0) != 0) fail("cannot mark opaque", path);
      close(fd);
      continue;
    }
    if (strcmp(op, "X") == 0) {
      set_xattr(path, fields[2], fields[3]);
      continue;
    }
    const char *base;
    int dir = open_parent(path, &base);
    clear(dir, base, path);
    if (strcmp(op, "W") == 0) {
      if (mknodat(dir, base, S_IFCHR | 0, makedev(0, 0)) != 0) fail("cannot create whiteout", path);
      if (fchownat(dir, base, 0, 0, AT_SYMLINK_NOFOLLOW) != 0) fail("cannot chown", path);
    } else {
      const char *type = fields[2];
      mode_t mode = (mode_t)number(fields[3], 8, path) & 07777;
      mode_t kind = strcmp(type, "c") == 0 ? S_IFCHR : strcmp(type, "b") == 0 ? S_IFBLK : strcmp(type, "p") == 0 ? S_IFIFO : 0;
      if (kind == 0) usage("unknown node type");
      dev_t dev = makedev((unsigned)number(fields[4], 10, path), (unsigned)number(fields[5], 10, path));
      if (mknodat(dir, base, kind | (mode & 0777), kind == S_IFIFO ? 0 : dev) != 0) fail("cannot create node", path);
      if (fchownat(dir, base, (uid_t)number(fields[6], 10, path), (gid_t)number(fields[7], 10, path), AT_SYMLINK_NOFOLLOW) != 0) fail("cannot chown", path);
      /* After chown, which clears setuid and setgid. */
      if (fchmodat(dir, base, mode, 0) != 0) fail("cannot chmod", path);
      struct timespec times[2] = {{.tv_sec = 0, .tv_nsec = UTIME_OMIT}, {.tv_sec = (time_t)number(fields[8], 10, path), .tv_nsec = (long)number(fields[9], 10, path)}};
      if (utimensat(dir, base, times, AT_SYMLINK_NOFOLLOW) != 0) fail("cannot set the mtime of", path);
    }
    close(dir);
  }
  return 0;
}
