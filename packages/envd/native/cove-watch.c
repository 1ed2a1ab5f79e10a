/*
 * cove-watch: streams inotify events for one directory (optionally its whole
 * tree) to stdout, one line per event, for envd's WatchDir/CreateWatcher.
 *
 *   cove-watch [-r] <dir>
 *
 * Output protocol (stdout, flushed after every batch of events):
 *   READY\t\n              all initial watches are in place
 *   <TYPE>\t<path>\n       TYPE is CREATE, WRITE, REMOVE, RENAME or CHMOD;
 *                          path is relative to <dir> ("." for <dir> itself)
 *   OVERFLOW\t\n           the kernel queue overflowed; events were lost
 *   ERROR\t<message>\n     a problem; fatal only before READY (exit status 1)
 * In paths, '\\' is written as "\\\\", TAB as "\\t" and LF as "\\n"; every
 * other byte is passed through unchanged.
 *
 * Event classification follows fsnotify on inotify, so clients see what the
 * upstream envd reports: IN_CREATE/IN_MOVED_TO -> CREATE, IN_MODIFY -> WRITE,
 * IN_DELETE/IN_DELETE_SELF -> REMOVE, IN_MOVED_FROM/IN_MOVE_SELF -> RENAME,
 * IN_ATTRIB -> CHMOD. Self events are reported for <dir> only; for watched
 * subdirectories the parent's entry event already tells the story.
 *
 * With -r, directories that appear later (created or moved in) are watched
 * too, and entries that were created in them before the watch was added are
 * reported as CREATE, so a quick `mkdir -p a/b && touch a/b/f` is not lost.
 * A directory moved out of the tree stops being watched.
 *
 * Exits when stdin reaches EOF (envd closed the pipe or died), on SIGTERM,
 * or when stdout breaks.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#define WATCH_MASK                                                                                 \
  (IN_CREATE | IN_MOVED_TO | IN_MOVED_FROM | IN_MODIFY | IN_ATTRIB | IN_DELETE | IN_DELETE_SELF | \
   IN_MOVE_SELF | IN_DONT_FOLLOW | IN_EXCL_UNLINK)

struct watch {
  int wd;
  char *rel; /* "" for the root directory, else "a/b" */
};

static int ifd = -1;
static int recursive = 0;
static char root[PATH_MAX];
static struct watch *watches = NULL;
static size_t nwatches = 0, capwatches = 0;

static void out_escaped(const char *s) {
  for (; *s; s++) {
    switch (*s) {
      case '\\': fputs("\\\\", stdout); break;
      case '\t': fputs("\\t", stdout); break;
      case '\n': fputs("\\n", stdout); break;
      default: putchar(*s);
    }
  }
}

static void emit(const char *type, const char *rel) {
  fputs(type, stdout);
  putchar('\t');
  out_escaped(rel[0] ? rel : ".");
  putchar('\n');
}

static void emit_error(const char *what, const char *rel, int err) {
  fputs("ERROR\t", stdout);
  fputs(what, stdout);
  fputs(" '", stdout);
  out_escaped(rel[0] ? rel : ".");
  fputs("': ", stdout);
  out_escaped(strerror(err));
  putchar('\n');
}

static void flush_or_exit(void) {
  if (fflush(stdout) != 0 || ferror(stdout)) exit(0);
}

static char *join_rel(const char *dir, const char *name) {
  size_t a = strlen(dir), b = strlen(name);
  char *p = malloc(a + b + 2);
  if (!p) {
    perror("malloc");
    exit(1);
  }
  if (a == 0) {
    memcpy(p, name, b + 1);
  } else {
    memcpy(p, dir, a);
    p[a] = '/';
    memcpy(p + a + 1, name, b + 1);
  }
  return p;
}

/* Absolute host path for a relative path; NULL when it would not fit. */
static const char *abs_path(const char *rel, char *buf) {
  int n = rel[0] ? snprintf(buf, PATH_MAX, "%s/%s", root, rel) : snprintf(buf, PATH_MAX, "%s", root[0] ? root : "/");
  return (n < 0 || n >= PATH_MAX) ? NULL : buf;
}

static struct watch *find_watch(int wd) {
  for (size_t i = 0; i < nwatches; i++)
    if (watches[i].wd == wd) return &watches[i];
  return NULL;
}

static void forget_watch(size_t i) {
  free(watches[i].rel);
  watches[i] = watches[--nwatches];
}

/* Adds (or re-points) a watch; returns 0 on success, else errno. */
static int add_watch(const char *rel) {
  char buf[PATH_MAX];
  const char *path = abs_path(rel, buf);
  if (!path) return ENAMETOOLONG;
  int wd = inotify_add_watch(ifd, path, WATCH_MASK | IN_ONLYDIR);
  if (wd < 0) return errno;
  struct watch *existing = find_watch(wd);
  if (existing) {
    /* The same inode was already watched (e.g. moved back in): take the new name. */
    free(existing->rel);
    existing->rel = strdup(rel);
    return 0;
  }
  if (nwatches == capwatches) {
    capwatches = capwatches ? capwatches * 2 : 64;
    watches = realloc(watches, capwatches * sizeof *watches);
    if (!watches) {
      perror("realloc");
      exit(1);
    }
  }
  watches[nwatches].wd = wd;
  watches[nwatches].rel = strdup(rel);
  nwatches++;
  return 0;
}

/* Stops watching rel and everything below it (it left the tree). */
static void drop_subtree(const char *rel) {
  size_t len = strlen(rel);
  for (size_t i = 0; i < nwatches;) {
    const char *r = watches[i].rel;
    if (strcmp(r, rel) == 0 || (strncmp(r, rel, len) == 0 && r[len] == '/')) {
      inotify_rm_watch(ifd, watches[i].wd);
      forget_watch(i);
    } else {
      i++;
    }
  }
}

/*
 * Watches rel and every directory below it. With report set, every entry
 * found is announced as CREATE: they appeared before their watch existed.
 */
static void watch_tree(const char *rel, int report, int fatal) {
  int err = add_watch(rel);
  if (err) {
    /* A subdirectory that is already gone again is not worth a complaint. */
    if (fatal || (err != ENOENT && err != ENOTDIR)) emit_error("cannot watch", rel, err);
    if (fatal) {
      flush_or_exit();
      exit(1);
    }
    return;
  }
  if (!recursive) return;
  char buf[PATH_MAX];
  const char *path = abs_path(rel, buf);
  DIR *dir = path ? opendir(path) : NULL;
  if (!dir) return;
  struct dirent *de;
  while ((de = readdir(dir)) != NULL) {
    if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0) continue;
    char *child = join_rel(rel, de->d_name);
    if (report) emit("CREATE", child);
    int is_dir = de->d_type == DT_DIR;
    if (de->d_type == DT_UNKNOWN) {
      struct stat st;
      char cbuf[PATH_MAX];
      const char *cpath = abs_path(child, cbuf);
      is_dir = cpath && lstat(cpath, &st) == 0 && S_ISDIR(st.st_mode);
    }
    if (is_dir && recursive) watch_tree(child, report, 0);
    free(child);
  }
  closedir(dir);
}

static void handle_event(const struct inotify_event *ev) {
  if (ev->mask & IN_Q_OVERFLOW) {
    fputs("OVERFLOW\t\n", stdout);
    return;
  }
  struct watch *w = find_watch(ev->wd);
  if (!w) return;
  if (ev->mask & IN_IGNORED) {
    forget_watch((size_t)(w - watches));
    return;
  }
  int is_root = w->rel[0] == '\0';
  int self = ev->len == 0 || ev->name[0] == '\0';
  if (self) {
    /* Only the root's own fate is news; a subdirectory's shows up in its parent. */
    if (!is_root) return;
    if (ev->mask & IN_ATTRIB) emit("CHMOD", "");
    if (ev->mask & IN_MOVE_SELF) emit("RENAME", "");
    if (ev->mask & IN_MODIFY) emit("WRITE", "");
    if (ev->mask & IN_DELETE_SELF) emit("REMOVE", "");
    return;
  }
  char *rel = join_rel(w->rel, ev->name);
  if (ev->mask & (IN_CREATE | IN_MOVED_TO)) emit("CREATE", rel);
  if (ev->mask & IN_MOVED_FROM) emit("RENAME", rel);
  if (ev->mask & IN_ATTRIB) emit("CHMOD", rel);
  if (ev->mask & IN_MODIFY) emit("WRITE", rel);
  if (ev->mask & IN_DELETE) emit("REMOVE", rel);
  if (recursive && (ev->mask & IN_ISDIR)) {
    if (ev->mask & IN_MOVED_FROM) drop_subtree(rel);
    if (ev->mask & (IN_CREATE | IN_MOVED_TO)) watch_tree(rel, 1, 0);
  }
  free(rel);
}

static void usage(void) {
  fputs("usage: cove-watch [-r] <dir>\n", stderr);
  exit(2);
}

int main(int argc, char **argv) {
  int i = 1;
  if (i < argc && strcmp(argv[i], "-r") == 0) {
    recursive = 1;
    i++;
  }
  if (i + 1 != argc) usage();
  size_t len = strlen(argv[i]);
  if (len == 0 || len >= sizeof root) usage();
  memcpy(root, argv[i], len + 1);
  while (len > 1 && root[len - 1] == '/') root[--len] = '\0';
  if (strcmp(root, "/") == 0) root[0] = '\0'; /* so "<root>/<rel>" stays "/rel" */

  signal(SIGPIPE, SIG_IGN);
  static char outbuf[1 << 16];
  setvbuf(stdout, outbuf, _IOFBF, sizeof outbuf);

  ifd = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
  if (ifd < 0) {
    emit_error("inotify_init1", "", errno);
    flush_or_exit();
    return 1;
  }
  watch_tree("", 0, 1);
  fputs("READY\t\n", stdout);
  flush_or_exit();

  /* Aligned as the kernel requires for struct inotify_event. */
  static char buf[1 << 16] __attribute__((aligned(__alignof__(struct inotify_event))));
  struct pollfd fds[2] = {{.fd = ifd, .events = POLLIN}, {.fd = 0, .events = POLLIN}};
  for (;;) {
    if (poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      return 1;
    }
    if (fds[1].revents) {
      char discard[256];
      ssize_t n = read(0, discard, sizeof discard);
      if (n <= 0 && !(n < 0 && (errno == EINTR || errno == EAGAIN))) return 0;
    }
    if (fds[0].revents & POLLIN) {
      ssize_t n = read(ifd, buf, sizeof buf);
      if (n < 0) {
        if (errno == EINTR || errno == EAGAIN) continue;
        return 1;
      }
      for (char *p = buf; p < buf + n;) {
        const struct inotify_event *ev = (const struct inotify_event *)p;
        handle_event(ev);
        p += sizeof *ev + ev->len;
      }
      flush_or_exit();
    }
  }
}
