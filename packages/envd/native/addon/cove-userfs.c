/*
 * cove-userfs: file system calls made with a user's credentials (N-API addon).
 *
 * envd runs as root but must touch files exactly as the requesting user
 * would, so the kernel (not JS) decides every permission: search permission
 * on parents, symlinks, sticky directories, supplementary groups. Each call
 * runs on a libuv pool thread that switches ONLY ITS OWN file-system
 * credentials around the one system call and switches back before the thread
 * takes other work:
 *
 *   setgroups(user groups) -> setfsgid(gid) -> setfsuid(uid) -> call -> restore
 *
 * The raw syscall(2)s are essential: glibc's setgroups() (and setuid and
 * friends) apply the change to every thread of the process, which would hand
 * the user's identity to the other pool threads doing root's work. Linux
 * keeps credentials per thread, so the raw calls touch only this one.
 * Changing fsuid from 0 clears the file-system capabilities (DAC override,
 * FOWNER, ...) from this thread's effective set and restoring it to 0 brings
 * them back, which is what makes root's checks apply to the user.
 *
 * Every call resolves with its result or rejects with the errno number; the
 * JS side (src/user-fs.ts) turns that into a Node-style error code.
 * If credentials cannot be restored, the process aborts: a pool thread left
 * with a user's identity would make later root work fail in odd ways.
 */
#define _GNU_SOURCE
#define NAPI_VERSION 8
#include <node_api.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/xattr.h>
#include <unistd.h>

#define MAX_GROUPS 1024

enum op {
  OP_OPEN,
  OP_MKDIR,
  OP_RENAME,
  OP_UNLINK,
  OP_RMDIR,
  OP_READDIR,
  OP_REALPATH,
  OP_READLINK,
  OP_STAT,
  OP_FCHMOD,
  /* Extended attributes: on `path` (a = 1: the l* call, the entry itself, not
   * a symlink's target), or on the open descriptor `a` when path is null. */
  OP_LISTXATTR,
  OP_GETXATTR, /* name in path2 */
  OP_SETXATTR, /* name in path2, value in `value` */
  OP_REMOVEXATTR,
};

struct work {
  napi_async_work async;
  napi_deferred deferred;
  enum op op;
  uid_t uid;
  gid_t gid;
  size_t ngroups;
  gid_t groups[MAX_GROUPS];
  char *path;
  char *path2;
  char *value;
  int64_t a; /* flags, fd or "no follow" */
  int64_t b; /* mode */
  /* results */
  int err;
  int64_t number;
  char *text;      /* realpath/readlink/getxattr result, or readdir/listxattr names separated by NUL */
  size_t text_len; /* bytes used in text */
  struct stat st;
};

struct saved {
  int ngroups;
  gid_t groups[MAX_GROUPS];
  uid_t fsuid;
  gid_t fsgid;
};

/* setfsuid/setfsgid report the previous id and never fail visibly; calling
 * them with -1 (an invalid id) changes nothing and returns the current one. */
static uid_t current_fsuid(void) { return (uid_t)syscall(SYS_setfsuid, (uid_t)-1); }
static gid_t current_fsgid(void) { return (gid_t)syscall(SYS_setfsgid, (gid_t)-1); }

static void restore(const struct saved *s) {
  syscall(SYS_setfsuid, s->fsuid);
  syscall(SYS_setfsgid, s->fsgid);
  if (current_fsuid() != s->fsuid || current_fsgid() != s->fsgid ||
      syscall(SYS_setgroups, (size_t)s->ngroups, s->groups) != 0) {
    abort();
  }
}

static int become(const struct work *w, struct saved *s) {
  s->ngroups = (int)syscall(SYS_getgroups, MAX_GROUPS, s->groups);
  if (s->ngroups < 0) return errno;
  s->fsuid = current_fsuid();
  s->fsgid = current_fsgid();
  if (syscall(SYS_setgroups, w->ngroups, w->groups) != 0) return errno;
  syscall(SYS_setfsgid, w->gid);
  syscall(SYS_setfsuid, w->uid);
  if (current_fsgid() != w->gid || current_fsuid() != w->uid) {
    restore(s);
    return EPERM;
  }
  return 0;
}

static int append_name(struct work *w, const char *name, size_t *cap) {
  size_t len = strlen(name) + 1;
  if (w->text_len + len > *cap) {
    size_t next = *cap ? *cap * 2 : 4096;
    while (next < w->text_len + len) next *= 2;
    char *grown = realloc(w->text, next);
    if (!grown) return ENOMEM;
    w->text = grown;
    *cap = next;
  }
  memcpy(w->text + w->text_len, name, len);
  w->text_len += len;
  return 0;
}

static int list_dir(struct work *w) {
  int fd = open(w->path, O_RDONLY | O_DIRECTORY | O_CLOEXEC | (w->a ? O_NOFOLLOW : 0));
  if (fd < 0) return errno;
  DIR *dir = fdopendir(fd);
  if (!dir) {
    int err = errno;
    close(fd);
    return err;
  }
  size_t cap = 0;
  int err = 0;
  for (;;) {
    errno = 0;
    struct dirent *entry = readdir(dir);
    if (!entry) {
      err = errno;
      break;
    }
    if (strcmp(entry->d_name, ".") == 0 || strcmp(entry->d_name, "..") == 0) continue;
    if ((err = append_name(w, entry->d_name, &cap)) != 0) break;
  }
  closedir(dir);
  return err;
}

static ssize_t xattr_list(const struct work *w, char *buf, size_t size) {
  if (!w->path) return flistxattr((int)w->a, buf, size);
  return w->a ? llistxattr(w->path, buf, size) : listxattr(w->path, buf, size);
}

static ssize_t xattr_get(const struct work *w, void *buf, size_t size) {
  if (!w->path) return fgetxattr((int)w->a, w->path2, buf, size);
  return w->a ? lgetxattr(w->path, w->path2, buf, size) : getxattr(w->path, w->path2, buf, size);
}

/* listxattr/getxattr into w->text: ask for the size, then read; retry if it grew meanwhile. */
static int xattr_read(struct work *w, int list) {
  for (int attempt = 0; attempt < 8; attempt++) {
    ssize_t size = list ? xattr_list(w, NULL, 0) : xattr_get(w, NULL, 0);
    if (size < 0) return errno;
    char *buf = realloc(w->text, (size_t)size + 1);
    if (!buf) return ENOMEM;
    w->text = buf;
    ssize_t n = size == 0 ? 0 : list ? xattr_list(w, buf, (size_t)size) : xattr_get(w, buf, (size_t)size);
    if (n >= 0) {
      w->text_len = (size_t)n;
      return 0;
    }
    if (errno != ERANGE) return errno;
  }
  return ERANGE;
}

static int xattr_set(const struct work *w) {
  size_t len = strlen(w->value);
  int rc = !w->path ? fsetxattr((int)w->a, w->path2, w->value, len, 0)
           : w->a   ? lsetxattr(w->path, w->path2, w->value, len, 0)
                    : setxattr(w->path, w->path2, w->value, len, 0);
  return rc == 0 ? 0 : errno;
}

static int xattr_remove(const struct work *w) {
  int rc = !w->path ? fremovexattr((int)w->a, w->path2) : w->a ? lremovexattr(w->path, w->path2) : removexattr(w->path, w->path2);
  return rc == 0 ? 0 : errno;
}

static int run(struct work *w) {
  switch (w->op) {
    case OP_OPEN: {
      int fd = open(w->path, (int)w->a | O_CLOEXEC, (mode_t)w->b);
      if (fd < 0) return errno;
      w->number = fd;
      return 0;
    }
    case OP_MKDIR:
      return mkdir(w->path, (mode_t)w->b) == 0 ? 0 : errno;
    case OP_RENAME:
      return rename(w->path, w->path2) == 0 ? 0 : errno;
    case OP_UNLINK:
      return unlink(w->path) == 0 ? 0 : errno;
    case OP_RMDIR:
      return rmdir(w->path) == 0 ? 0 : errno;
    case OP_READDIR:
      return list_dir(w);
    case OP_REALPATH: {
      w->text = realpath(w->path, NULL);
      if (!w->text) return errno;
      w->text_len = strlen(w->text);
      return 0;
    }
    case OP_READLINK: {
      w->text = malloc(PATH_MAX + 1);
      if (!w->text) return ENOMEM;
      ssize_t n = readlink(w->path, w->text, PATH_MAX);
      if (n < 0) return errno;
      w->text_len = (size_t)n;
      return 0;
    }
    case OP_STAT:
      return fstatat(AT_FDCWD, w->path, &w->st, w->a ? AT_SYMLINK_NOFOLLOW : 0) == 0 ? 0 : errno;
    case OP_FCHMOD:
      return fchmod((int)w->a, (mode_t)w->b) == 0 ? 0 : errno;
    case OP_LISTXATTR:
      return xattr_read(w, 1);
    case OP_GETXATTR:
      return xattr_read(w, 0);
    case OP_SETXATTR:
      return xattr_set(w);
    case OP_REMOVEXATTR:
      return xattr_remove(w);
  }
  return EINVAL;
}

static void execute(napi_env env, void *data) {
  (void)env;
  struct work *w = data;
  struct saved saved;
  w->err = become(w, &saved);
  if (w->err) return;
  w->err = run(w);
  restore(&saved);
}

static napi_value make_result(napi_env env, struct work *w) {
  napi_value result = NULL;
  switch (w->op) {
    case OP_OPEN:
      napi_create_int64(env, w->number, &result);
      break;
    case OP_REALPATH:
    case OP_READLINK:
    case OP_GETXATTR:
      napi_create_string_utf8(env, w->text ? w->text : "", w->text_len, &result);
      break;
    case OP_READDIR:
    case OP_LISTXATTR: {
      napi_create_array(env, &result);
      uint32_t index = 0;
      for (size_t at = 0; at < w->text_len;) {
        size_t len = strlen(w->text + at);
        napi_value name;
        napi_create_string_utf8(env, w->text + at, len, &name);
        napi_set_element(env, result, index++, name);
        at += len + 1;
      }
      break;
    }
    case OP_STAT: {
      /* BigInt64Array: mode, uid, gid, size, mtime s, mtime ns, ino, dev, nlink */
      int64_t fields[] = {w->st.st_mode, w->st.st_uid, w->st.st_gid, w->st.st_size, w->st.st_mtim.tv_sec,
                          w->st.st_mtim.tv_nsec, (int64_t)w->st.st_ino, (int64_t)w->st.st_dev, (int64_t)w->st.st_nlink};
      size_t count = sizeof(fields) / sizeof(fields[0]);
      void *bytes;
      napi_value buffer;
      napi_create_arraybuffer(env, sizeof(fields), &bytes, &buffer);
      memcpy(bytes, fields, sizeof(fields));
      napi_create_typedarray(env, napi_bigint64_array, count, buffer, 0, &result);
      break;
    }
    default:
      napi_get_undefined(env, &result);
  }
  return result;
}

static void complete(napi_env env, napi_status status, void *data) {
  struct work *w = data;
  if (status == napi_ok && w->err == 0) {
    napi_resolve_deferred(env, w->deferred, make_result(env, w));
  } else {
    napi_value errno_value;
    napi_create_int32(env, status == napi_ok ? w->err : ECANCELED, &errno_value);
    napi_reject_deferred(env, w->deferred, errno_value);
  }
  napi_delete_async_work(env, w->async);
  free(w->path);
  free(w->path2);
  free(w->value);
  free(w->text);
  free(w);
}

static char *copy_string(napi_env env, napi_value value) {
  napi_valuetype type;
  if (napi_typeof(env, value, &type) != napi_ok || type != napi_string) return NULL;
  size_t len;
  if (napi_get_value_string_utf8(env, value, NULL, 0, &len) != napi_ok) return NULL;
  char *text = malloc(len + 1);
  if (!text) return NULL;
  napi_get_value_string_utf8(env, value, text, len + 1, &len);
  if (strlen(text) != len) { /* an embedded NUL would silently shorten the path */
    free(text);
    return NULL;
  }
  return text;
}

static bool is_null(napi_env env, napi_value value) {
  napi_valuetype type;
  return napi_typeof(env, value, &type) == napi_ok && type == napi_null;
}

/*
 * call(op, uid, gid, groups: Uint32Array, path: string | null, path2: string | null, a: number, b: number,
 *      value?: string) -> Promise<result>, rejected with an errno number.
 */
static napi_value call(napi_env env, napi_callback_info info) {
  size_t argc = 9;
  napi_value argv[9];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc != 8 && argc != 9) {
    napi_throw_type_error(env, NULL, "call expects 8 or 9 arguments");
    return NULL;
  }
  struct work *w = calloc(1, sizeof(*w));
  if (!w) {
    napi_throw_error(env, NULL, "out of memory");
    return NULL;
  }
  int32_t op;
  uint32_t uid, gid;
  napi_typedarray_type type;
  size_t length;
  void *groups;
  bool ok = napi_get_value_int32(env, argv[0], &op) == napi_ok && op >= OP_OPEN && op <= OP_REMOVEXATTR &&
            napi_get_value_uint32(env, argv[1], &uid) == napi_ok && napi_get_value_uint32(env, argv[2], &gid) == napi_ok &&
            napi_get_typedarray_info(env, argv[3], &type, &length, &groups, NULL, NULL) == napi_ok &&
            type == napi_uint32_array && length <= MAX_GROUPS && napi_get_value_int64(env, argv[6], &w->a) == napi_ok &&
            napi_get_value_int64(env, argv[7], &w->b) == napi_ok;
  /* fchmod acts on a descriptor only; xattr calls on a path or, with a null path, a descriptor. */
  bool by_fd = op == OP_FCHMOD || (op >= OP_LISTXATTR && is_null(env, argv[4]));
  if (ok && !by_fd) ok = (w->path = copy_string(env, argv[4])) != NULL;
  if (ok && (op == OP_RENAME || op == OP_GETXATTR || op == OP_SETXATTR || op == OP_REMOVEXATTR)) {
    ok = (w->path2 = copy_string(env, argv[5])) != NULL;
  }
  if (ok && op == OP_SETXATTR) ok = argc == 9 && (w->value = copy_string(env, argv[8])) != NULL;
  if (!ok) {
    free(w->path);
    free(w->path2);
    free(w->value);
    free(w);
    napi_throw_type_error(env, NULL, "invalid arguments");
    return NULL;
  }
  w->op = (enum op)op;
  w->uid = uid;
  w->gid = gid;
  w->ngroups = length;
  memcpy(w->groups, groups, length * sizeof(gid_t));

  napi_value promise, name;
  napi_create_promise(env, &w->deferred, &promise);
  napi_create_string_utf8(env, "cove-userfs", NAPI_AUTO_LENGTH, &name);
  napi_create_async_work(env, NULL, name, execute, complete, w, &w->async);
  napi_queue_async_work(env, w->async);
  return promise;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_value fn;
  napi_create_function(env, "call", NAPI_AUTO_LENGTH, call, NULL, &fn);
  napi_set_named_property(env, exports, "call", fn);
  return exports;
}

NAPI_MODULE(cove_userfs, init)
