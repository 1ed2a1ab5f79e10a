/*
 * cove-spawn: starts processes for a Node program that must not fork itself: the node's
 * host commands (crun, ip, nft, mount, ...) and envd's processes inside a sandbox.
 *
 * Node's child_process forks the whole calling process for every command: with a heap of
 * 150 MB that fork takes ~11 ms here, synchronously, on the only JavaScript thread, and a
 * sandbox create runs about twenty commands. This helper is small, so its fork is cheap, and
 * the caller's event loop never stops for one. (Decision 0017; the source is shared, each
 * package builds its own copy.)
 *
 * It reads requests on stdin and writes events on stdout, each a frame:
 *   u32 length of what follows, u32 id, u8 type, payload        (little endian)
 * Requests:
 *   1 SPAWN  u8 flags, u32 argc, argv (NUL-terminated each),
 *            [u32 envc, env (NUL-terminated each)]  if flags & 1
 *            [path NUL-terminated]                   if flags & 2: stdout+stderr to this file
 *            [u8 setsid]                             (flags & 4): own session
 *            input bytes to the end                  if flags & 8: written, then stdin closed
 *                                                    flags & 16: stdin stays a pipe for STDIN
 *                                                    requests until CLOSE_STDIN
 *                                                    neither: stdin is /dev/null
 *   2 KILL   u32 signal
 *   3 STDIN  bytes for the command's stdin (flags & 16)
 *   4 CLOSE_STDIN  closes its stdin once what was sent is written
 * Events:
 *   5 STARTED i32 pid: the command runs (before any of its output)
 *   1 STDOUT bytes   2 STDERR bytes
 *   3 EXIT   i32 exit code (-1 if killed), i32 signal (0 if exited)
 *   4 FAILED i32 errno: the command did not start (not found, not executable, ...)
 * EXIT comes after the last output of its command. Input for a command whose stdin is
 * gone (it exited, or closed it) is dropped. On EOF of stdin it takes no more requests,
 * and exits once every command it started has exited and been reported.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

enum { REQ_SPAWN = 1, REQ_KILL = 2, REQ_STDIN = 3, REQ_CLOSE_STDIN = 4 };
enum { EV_STDOUT = 1, EV_STDERR = 2, EV_EXIT = 3, EV_FAILED = 4, EV_STARTED = 5 };
enum { F_ENV = 1, F_OUTPATH = 2, F_SETSID = 4, F_INPUT = 8, F_STDIN_STREAM = 16 };
#define MAX_CHILDREN 4096
#define MAX_FRAME (64u << 20)

struct child {
  int used;
  uint32_t id;
  pid_t pid;
  int out, err, in; /* -1 when closed or not piped */
  char *input; /* bytes not yet written to stdin: input[input_off..input_len) */
  size_t input_len, input_off, input_cap;
  int close_when_written; /* close stdin once input is written (F_INPUT, CLOSE_STDIN) */
  int reaped, status;
};

static struct child children[MAX_CHILDREN];
extern char **environ;

static void die(const char *what) {
  fprintf(stderr, "cove-spawn: %s: %s\n", what, strerror(errno));
  exit(1);
}

static void write_all(const void *buf, size_t len) {
  const char *p = buf;
  while (len > 0) {
    ssize_t n = write(1, p, len);
    if (n < 0) {
      if (errno == EINTR) continue;
      exit(0); /* the node is gone */
    }
    p += n;
    len -= (size_t)n;
  }
}

static void send_event(uint32_t id, uint8_t type, const void *payload, uint32_t len) {
  unsigned char head[9];
  uint32_t total = 5 + len;
  memcpy(head, &total, 4);
  memcpy(head + 4, &id, 4);
  head[8] = type;
  write_all(head, 9);
  if (len > 0) write_all(payload, len);
}

static void send_ints(uint32_t id, uint8_t type, int32_t a, int32_t b, int count) {
  int32_t v[2] = {a, b};
  send_event(id, type, v, (uint32_t)(count * 4));
}

static struct child *find(uint32_t id) {
  for (int i = 0; i < MAX_CHILDREN; i++)
    if (children[i].used && children[i].id == id) return &children[i];
  return NULL;
}

static void close_fd(int *fd) {
  if (*fd >= 0) close(*fd);
  *fd = -1;
}

/* Sends EXIT once the command is reaped and its output pipes are drained. */
static void maybe_finish(struct child *c) {
  if (!c->reaped || c->out >= 0 || c->err >= 0) return;
  if (WIFEXITED(c->status)) send_ints(c->id, EV_EXIT, WEXITSTATUS(c->status), 0, 2);
  else send_ints(c->id, EV_EXIT, -1, WIFSIGNALED(c->status) ? WTERMSIG(c->status) : 0, 2);
  close_fd(&c->in);
  free(c->input);
  memset(c, 0, sizeof *c);
}

/* Queues bytes for a command's stdin; pump_input writes them as the pipe takes them. */
static void append_input(struct child *c, const char *data, size_t len) {
  if (c->input_off == c->input_len) c->input_off = c->input_len = 0;
  if (c->input_len + len > c->input_cap) {
    size_t cap = c->input_cap ? c->input_cap : 4096;
    while (cap < c->input_len + len) cap *= 2;
    if (!(c->input = realloc(c->input, cap))) die("realloc");
    c->input_cap = cap;
  }
  memcpy(c->input + c->input_len, data, len);
  c->input_len += len;
}

/* Reads a NUL-terminated string at *p (bounded by end); NULL if malformed. */
static char *take_string(char **p, char *end) {
  char *s = *p;
  char *nul = memchr(s, 0, (size_t)(end - s));
  if (!nul) return NULL;
  *p = nul + 1;
  return s;
}

static int take_u32(char **p, char *end, uint32_t *out) {
  if (end - *p < 4) return -1;
  memcpy(out, *p, 4);
  *p += 4;
  return 0;
}

static void spawn_command(uint32_t id, char *p, char *end) {
  if (end - p < 1) goto malformed;
  uint8_t flags = (uint8_t)*p++;
  uint32_t argc, envc = 0;
  if (take_u32(&p, end, &argc) || argc == 0 || argc > 65536) goto malformed;
  char **argv = calloc(argc + 1, sizeof(char *));
  char **envp = NULL;
  if (!argv) die("calloc");
  for (uint32_t i = 0; i < argc; i++)
    if (!(argv[i] = take_string(&p, end))) goto malformed_free;
  if (flags & F_ENV) {
    if (take_u32(&p, end, &envc) || envc > 65536) goto malformed_free;
    envp = calloc(envc + 1, sizeof(char *));
    if (!envp) die("calloc");
    for (uint32_t i = 0; i < envc; i++)
      if (!(envp[i] = take_string(&p, end))) goto malformed_free;
  }
  char *outpath = NULL;
  if ((flags & F_OUTPATH) && !(outpath = take_string(&p, end))) goto malformed_free;

  struct child *c = NULL;
  for (int i = 0; i < MAX_CHILDREN && !c; i++)
    if (!children[i].used) c = &children[i];
  if (!c) {
    send_ints(id, EV_FAILED, EAGAIN, 0, 1);
    goto done;
  }

  int in[2] = {-1, -1}, out[2] = {-1, -1}, err[2] = {-1, -1}, report[2] = {-1, -1};
  int outfd = -1, saved = 0;
  if (outpath) {
    outfd = open(outpath, O_WRONLY | O_CLOEXEC | O_NONBLOCK);
    if (outfd < 0) saved = errno;
  } else if (pipe2(out, O_CLOEXEC) || pipe2(err, O_CLOEXEC)) {
    saved = errno;
  }
  if (!saved && (flags & (F_INPUT | F_STDIN_STREAM)) && pipe2(in, O_CLOEXEC)) saved = errno;
  if (!saved && pipe2(report, O_CLOEXEC)) saved = errno;
  pid_t pid = saved ? -1 : fork();
  if (pid == 0) {
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    signal(SIGPIPE, SIG_DFL);
    if (flags & F_SETSID) setsid();
    int devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (outfd >= 0) {
      int o = fcntl(outfd, F_GETFL);
      fcntl(outfd, F_SETFL, o & ~O_NONBLOCK);
    }
    if (dup2((flags & (F_INPUT | F_STDIN_STREAM)) ? in[0] : devnull, 0) < 0 || dup2(outfd >= 0 ? outfd : out[1], 1) < 0 ||
        dup2(outfd >= 0 ? outfd : err[1], 2) < 0) {
      int e = errno;
      (void)!write(report[1], &e, sizeof e);
      _exit(127);
    }
    if (envp) environ = envp;
    execvp(argv[0], argv);
    int e = errno;
    (void)!write(report[1], &e, sizeof e);
    _exit(127);
  }
  if (pid < 0 && !saved) saved = errno;
  close_fd(&in[0]);
  close_fd(&out[1]);
  close_fd(&err[1]);
  close_fd(&report[1]);
  close_fd(&outfd);
  if (!saved) {
    /* Blocks until exec succeeds (EOF) or the child reports why it could not. */
    int e = 0;
    ssize_t n;
    do n = read(report[0], &e, sizeof e);
    while (n < 0 && errno == EINTR);
    if (n == sizeof e) {
      saved = e;
      while (waitpid(pid, NULL, 0) < 0 && errno == EINTR) {}
    }
  }
  close_fd(&report[0]);
  if (saved) {
    close_fd(&in[1]);
    close_fd(&out[0]);
    close_fd(&err[0]);
    send_ints(id, EV_FAILED, saved, 0, 1);
    goto done;
  }
  c->used = 1;
  c->id = id;
  c->pid = pid;
  c->out = out[0];
  c->err = err[0];
  c->in = in[1];
  send_ints(id, EV_STARTED, pid, 0, 1);
  if (c->in >= 0) {
    fcntl(c->in, F_SETFL, fcntl(c->in, F_GETFL) | O_NONBLOCK);
    if (flags & F_INPUT) {
      append_input(c, p, (size_t)(end - p));
      c->close_when_written = 1;
      if (c->input_len == 0) close_fd(&c->in);
    }
  }
done:
  free(argv);
  free(envp);
  return;
malformed_free:
  free(argv);
  free(envp);
malformed:
  send_ints(id, EV_FAILED, EINVAL, 0, 1);
}

static void handle_request(char *frame, uint32_t len) {
  if (len < 5) return;
  uint32_t id;
  memcpy(&id, frame, 4);
  uint8_t op = (uint8_t)frame[4];
  char *p = frame + 5, *end = frame + len;
  if (op == REQ_SPAWN) {
    spawn_command(id, p, end);
  } else if (op == REQ_KILL) {
    uint32_t sig;
    struct child *c = find(id);
    if (c && !c->reaped && take_u32(&p, end, &sig) == 0) kill(c->pid, (int)sig);
  } else if (op == REQ_STDIN) {
    struct child *c = find(id);
    if (c && c->in >= 0 && !c->close_when_written) append_input(c, p, (size_t)(end - p));
  } else if (op == REQ_CLOSE_STDIN) {
    struct child *c = find(id);
    if (c && c->in >= 0) {
      c->close_when_written = 1;
      if (c->input_off == c->input_len) close_fd(&c->in);
    }
  }
}

static void reap(void) {
  for (;;) {
    int status;
    pid_t pid = waitpid(-1, &status, WNOHANG);
    if (pid <= 0) return;
    for (int i = 0; i < MAX_CHILDREN; i++) {
      if (children[i].used && children[i].pid == pid && !children[i].reaped) {
        children[i].reaped = 1;
        children[i].status = status;
        maybe_finish(&children[i]);
        break;
      }
    }
  }
}

static void pump_output(struct child *c, int *fd, uint8_t type) {
  static char buf[65536];
  ssize_t n = read(*fd, buf, sizeof buf);
  if (n > 0) {
    send_event(c->id, type, buf, (uint32_t)n);
  } else if (n == 0 || (errno != EINTR && errno != EAGAIN)) {
    close_fd(fd);
    maybe_finish(c);
  }
}

static void pump_input(struct child *c) {
  ssize_t n = write(c->in, c->input + c->input_off, c->input_len - c->input_off);
  if (n > 0) c->input_off += (size_t)n;
  if (n < 0 && errno != EAGAIN && errno != EINTR) {
    close_fd(&c->in); /* the command closed its stdin (EPIPE): what is left is dropped */
    c->input_off = c->input_len = 0;
  } else if (c->input_off >= c->input_len && c->close_when_written) {
    close_fd(&c->in);
  }
}

int main(void) {
  signal(SIGPIPE, SIG_IGN);
  sigset_t chld;
  sigemptyset(&chld);
  sigaddset(&chld, SIGCHLD);
  if (sigprocmask(SIG_BLOCK, &chld, NULL)) die("sigprocmask");
  int sfd = signalfd(-1, &chld, SFD_CLOEXEC | SFD_NONBLOCK);
  if (sfd < 0) die("signalfd");
  fcntl(0, F_SETFD, FD_CLOEXEC);
  fcntl(1, F_SETFD, FD_CLOEXEC);

  size_t cap = 1 << 16, have = 0;
  char *req = malloc(cap);
  if (!req) die("malloc");
  static struct pollfd fds[2 + 3 * MAX_CHILDREN];
  static struct child *owner[2 + 3 * MAX_CHILDREN];
  int closing = 0;
  for (;;) {
    int running = 0;
    for (int i = 0; i < MAX_CHILDREN; i++) running += children[i].used;
    if (closing && running == 0) return 0;
    int n = 0;
    fds[n++] = (struct pollfd){.fd = closing ? -1 : 0, .events = POLLIN};
    fds[n++] = (struct pollfd){.fd = sfd, .events = POLLIN};
    for (int i = 0; i < MAX_CHILDREN; i++) {
      struct child *c = &children[i];
      if (!c->used) continue;
      if (c->out >= 0) owner[n] = c, fds[n++] = (struct pollfd){.fd = c->out, .events = POLLIN};
      if (c->err >= 0) owner[n] = c, fds[n++] = (struct pollfd){.fd = c->err, .events = POLLIN};
      if (c->in >= 0 && c->input_off < c->input_len) owner[n] = c, fds[n++] = (struct pollfd){.fd = c->in, .events = POLLOUT};
    }
    if (poll(fds, (nfds_t)n, -1) < 0) {
      if (errno == EINTR) continue;
      die("poll");
    }
    for (int i = 2; i < n; i++) {
      if (!fds[i].revents) continue;
      struct child *c = owner[i];
      if (!c->used) continue;
      if (fds[i].fd == c->out) pump_output(c, &c->out, EV_STDOUT);
      else if (fds[i].fd == c->err) pump_output(c, &c->err, EV_STDERR);
      else if (fds[i].fd == c->in) pump_input(c);
    }
    if (fds[1].revents) {
      struct signalfd_siginfo info;
      while (read(sfd, &info, sizeof info) == sizeof info) {}
      reap();
    }
    if (fds[0].revents) {
      if (have == cap) {
        cap *= 2;
        if (cap > MAX_FRAME + 4) die("request too large");
        if (!(req = realloc(req, cap))) die("realloc");
      }
      ssize_t got = read(0, req + have, cap - have);
      if (got == 0) { /* the node closed us: finish what runs, then go */
        closing = 1;
        continue;
      }
      if (got < 0) {
        if (errno == EINTR || errno == EAGAIN) continue;
        die("read");
      }
      have += (size_t)got;
      for (;;) {
        uint32_t len;
        if (have < 4) break;
        memcpy(&len, req, 4);
        if (len > MAX_FRAME) die("request too large");
        if (have < 4 + (size_t)len) {
          if (cap < 4 + (size_t)len) {
            cap = 4 + (size_t)len;
            if (!(req = realloc(req, cap))) die("realloc");
          }
          break;
        }
        handle_request(req + 4, len);
        memmove(req, req + 4 + len, have - 4 - len);
        have -= 4 + (size_t)len;
      }
    }
  }
}
