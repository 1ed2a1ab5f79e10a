/*
 * cove-ns: the namespace work the node cannot do from Node.js (no setns, open_tree or
 * mount_setattr there). Runs as host root. Three commands:
 *
 *   cove-ns userns BASE SIZE PIN
 *     A new user namespace owned by host uid BASE, mapping ids 0..SIZE-1 to host ids
 *     BASE..BASE+SIZE-1 (uids and gids), kept alive by a bind mount of its nsfs file onto PIN
 *     (created, must not exist).
 *   cove-ns netns USERNS NETNS
 *     A new network namespace owned by the user namespace pinned at USERNS, pinned at NETNS.
 *     Owned by the sandbox's user namespace so the sandbox can mount its own sysfs.
 *   cove-ns idmap USERNS SRC DST [--ro]
 *     Clones the mount tree at SRC and mounts it at DST idmapped through USERNS (files owned
 *     by host id N appear owned by BASE+N), always nosuid and nodev.
 *   cove-ns rebind PID SRCDIR FILE...
 *     In the mount namespace of PID, replaces the mounts on each FILE with a fresh read-only
 *     bind of SRCDIR/FILE from the caller's namespace (a restarted lxcfs, whose old mount a
 *     sandbox's binds still point at).
 *
 * Errors go to stderr as one line; exit 1 on failure, 2 on bad usage.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <grp.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static void die(const char *what, const char *arg) {
  fprintf(stderr, "cove-ns: %s %s: %s\n", what, arg, strerror(errno));
  exit(1);
}

static void usage(void) {
  fprintf(stderr, "usage: cove-ns userns BASE SIZE PIN | netns USERNS NETNS | idmap USERNS SRC DST [--ro] | rebind PID SRCDIR FILE...\n");
  exit(2);
}

static unsigned long number(const char *text) {
  char *end;
  errno = 0;
  unsigned long n = strtoul(text, &end, 10);
  if (errno || *text == '\0' || *end != '\0' || n > 0xFFFFFFFEUL) usage();
  return n;
}

static void write_text(const char *path, const char *text) {
  int fd = open(path, O_WRONLY | O_CLOEXEC);
  if (fd < 0) die("open", path);
  if (write(fd, text, strlen(text)) != (ssize_t)strlen(text)) die("write", path);
  close(fd);
}

/* Bind-mounts /proc/<pid>/ns/<kind> onto a new empty file at pin. */
static void pin_ns(pid_t pid, const char *kind, const char *pin) {
  char src[64];
  snprintf(src, sizeof src, "/proc/%d/ns/%s", (int)pid, kind);
  int fd = open(pin, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0400);
  if (fd < 0) die("create", pin);
  close(fd);
  if (mount(src, pin, NULL, MS_BIND, NULL) < 0) {
    int saved = errno;
    unlink(pin);
    errno = saved;
    die("bind", pin);
  }
}

/*
 * Runs step() in a child that then waits, so the parent can read the child's /proc/<pid>/ns
 * files; the parent releases it with finish(). A pipe in each direction keeps them in step.
 */
struct child {
  pid_t pid;
  int from_child, to_child;
};

static struct child spawn(int (*step)(void *), void *arg) {
  int up[2], down[2];
  if (pipe2(up, O_CLOEXEC) < 0 || pipe2(down, O_CLOEXEC) < 0) die("pipe", "");
  pid_t pid = fork();
  if (pid < 0) die("fork", "");
  if (pid == 0) {
    close(up[0]);
    close(down[1]);
    char c = step(arg) == 0 ? 'k' : 'e';
    if (write(up[1], &c, 1) != 1) _exit(1);
    /* Stay until the parent is done with our namespaces (it closes its end). */
    while (c == 'k' && read(down[0], &c, 1) > 0) {
    }
    _exit(0);
  }
  close(up[1]);
  close(down[0]);
  struct child ch = {pid, up[0], down[1]};
  char c;
  if (read(ch.from_child, &c, 1) != 1 || c != 'k') {
    errno = EPERM;
    die("child namespace step", "");
  }
  return ch;
}

static void finish(struct child ch) {
  close(ch.to_child);
  close(ch.from_child);
  waitpid(ch.pid, NULL, 0);
}

/*
 * The new namespace is created as host uid BASE, so BASE owns it: the kernel charges per-user
 * counts (inotify instances and watches, user namespaces...) of everyone inside to BASE in the
 * host's namespace, a bucket of this sandbox alone. Created as root, every sandbox would share
 * root's bucket and one could exhaust it for all.
 */
static int enter_new_userns(void *basep) {
  unsigned long base = *(unsigned long *)basep;
  if (setgroups(0, NULL) < 0 || setresgid(base, base, base) < 0 || setresuid(base, base, base) < 0) return -1;
  return unshare(CLONE_NEWUSER);
}

static int enter_userns_then_netns(void *fdp) {
  if (setns(*(int *)fdp, CLONE_NEWUSER) < 0) return -1;
  return unshare(CLONE_NEWNET);
}

static int cmd_userns(int argc, char **argv) {
  if (argc != 5) usage();
  unsigned long base = number(argv[2]), size = number(argv[3]);
  if (size == 0 || base + size - 1 > 0xFFFFFFFEUL) usage();
  struct child ch = spawn(enter_new_userns, &base);
  char path[64], map[64];
  snprintf(map, sizeof map, "0 %lu %lu\n", base, size);
  /* Written by a privileged parent: setgroups stays allowed inside, so sudo and su work. */
  snprintf(path, sizeof path, "/proc/%d/uid_map", (int)ch.pid);
  write_text(path, map);
  snprintf(path, sizeof path, "/proc/%d/gid_map", (int)ch.pid);
  write_text(path, map);
  pin_ns(ch.pid, "user", argv[4]);
  finish(ch);
  return 0;
}

static int open_ns(const char *pin) {
  int fd = open(pin, O_RDONLY | O_CLOEXEC);
  if (fd < 0) die("open", pin);
  return fd;
}

/*
 * As iproute2's `ip netns add` does: the pins' directory (/run/netns) becomes a shared mount
 * point before anything is pinned in it. Whoever does that later (any `ip netns add` on the
 * host) binds the directory over itself, and pins made before it end up under that bind:
 * `ip netns del` can then neither unmount nor remove them (EBUSY), and the sandbox's network
 * namespace outlives it.
 */
static void make_shared_mount_point(const char *pin) {
  char dir[4096];
  if (snprintf(dir, sizeof dir, "%s", pin) >= (int)sizeof dir) usage();
  char *slash = strrchr(dir, '/');
  if (!slash || slash == dir) return;
  *slash = '\0';
  if (mkdir(dir, 0755) < 0 && errno != EEXIST) die("mkdir", dir);
  if (mount("", dir, "none", MS_SHARED | MS_REC, NULL) == 0) return;
  if (errno != EINVAL) die("make shared", dir);
  /* Not a mount point yet. Two of us at once would stack two binds: harmless for pins made after. */
  if (mount(dir, dir, "none", MS_BIND | MS_REC, NULL) < 0) die("bind", dir);
  if (mount("", dir, "none", MS_SHARED | MS_REC, NULL) < 0) die("make shared", dir);
}

static int cmd_netns(int argc, char **argv) {
  if (argc != 4) usage();
  make_shared_mount_point(argv[3]);
  int userns = open_ns(argv[2]);
  struct child ch = spawn(enter_userns_then_netns, &userns);
  pin_ns(ch.pid, "net", argv[3]);
  finish(ch);
  close(userns);
  return 0;
}

static int cmd_idmap(int argc, char **argv) {
  if (argc != 5 && !(argc == 6 && strcmp(argv[5], "--ro") == 0)) usage();
  int userns = open_ns(argv[2]);
  int tree = open_tree(AT_FDCWD, argv[3], OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);
  if (tree < 0) die("open_tree", argv[3]);
  struct mount_attr attr = {
      .attr_set = MOUNT_ATTR_IDMAP | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | (argc == 6 ? MOUNT_ATTR_RDONLY : 0),
      .userns_fd = (unsigned long long)userns,
  };
  if (mount_setattr(tree, "", AT_EMPTY_PATH, &attr, sizeof attr) < 0) die("mount_setattr idmap", argv[3]);
  if (move_mount(tree, "", AT_FDCWD, argv[4], MOVE_MOUNT_F_EMPTY_PATH) < 0) die("move_mount", argv[4]);
  return 0;
}

static int cmd_rebind(int argc, char **argv) {
  if (argc < 5 || argc > 5 + 32) usage();
  int count = argc - 4, trees[32];
  char src[4096], ns[64];
  /* The new mounts are cloned here, before entering the sandbox's namespace, where SRCDIR is not visible. */
  for (int i = 0; i < count; i++) {
    const char *file = argv[4 + i];
    if (file[0] != '/' || snprintf(src, sizeof src, "%s%s", argv[3], file) >= (int)sizeof src) usage();
    trees[i] = open_tree(AT_FDCWD, src, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);
    if (trees[i] < 0) die("open_tree", src);
    struct mount_attr attr = {.attr_set = MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC};
    if (mount_setattr(trees[i], "", AT_EMPTY_PATH, &attr, sizeof attr) < 0) die("mount_setattr", src);
  }
  snprintf(ns, sizeof ns, "/proc/%lu/ns/mnt", number(argv[2]));
  int mnt = open(ns, O_RDONLY | O_CLOEXEC);
  if (mnt < 0) die("open", ns);
  if (setns(mnt, CLONE_NEWNS) < 0) die("setns", ns);
  for (int i = 0; i < count; i++) {
    const char *file = argv[4 + i];
    /* Stacked binds (a runtime's read-only rebind on top): detach until the file is no mount. */
    for (int n = 0; n < 8 && umount2(file, MNT_DETACH) == 0; n++) {
    }
    if (move_mount(trees[i], "", AT_FDCWD, file, MOVE_MOUNT_F_EMPTY_PATH) < 0) die("move_mount", file);
  }
  return 0;
}

int main(int argc, char **argv) {
  if (argc < 2) usage();
  if (strcmp(argv[1], "userns") == 0) return cmd_userns(argc, argv);
  if (strcmp(argv[1], "netns") == 0) return cmd_netns(argc, argv);
  if (strcmp(argv[1], "idmap") == 0) return cmd_idmap(argc, argv);
  if (strcmp(argv[1], "rebind") == 0) return cmd_rebind(argc, argv);
  usage();
  return 2;
}
