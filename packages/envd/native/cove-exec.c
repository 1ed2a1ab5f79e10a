/*
 * cove-exec: become a user and exec a command.
 *
 *   cove-exec <uid> <gid> <g1,g2,...> <root> <cwd> -- <cmd> [args...]
 *
 * envd runs as root and starts every process through this helper, because
 * Node's spawn({uid, gid}) drops all supplementary groups and node-pty keeps
 * root's. Order matters: chroot and chdir while still root, then setgroups
 * and setgid (which need root), then setuid last. The command is looked up
 * with execvp, so PATH from the environment envd built applies.
 *
 * Signal dispositions and the signal mask are reset because ignored signals
 * (Node ignores SIGPIPE) survive exec and would leak into user programs.
 *
 * Exit status 127 (not found) or 126 (cannot execute) after a message on
 * stderr mirrors what shells do when exec fails; 125 means setup failed.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <grp.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

#define SETUP_FAILED 125
#define MAX_GROUPS 1024

static void die(const char *what, const char *arg) {
  fprintf(stderr, "cove-exec: %s '%s': %s\n", what, arg, strerror(errno));
  exit(SETUP_FAILED);
}

static unsigned long parse_id(const char *text, const char *what) {
  char *end = NULL;
  errno = 0;
  unsigned long value = strtoul(text, &end, 10);
  if (errno != 0 || end == text || *end != '\0' || value > UINT_MAX) {
    fprintf(stderr, "cove-exec: invalid %s '%s'\n", what, text);
    exit(SETUP_FAILED);
  }
  return value;
}

static size_t parse_groups(char *list, gid_t *groups) {
  size_t count = 0;
  for (char *save = NULL, *item = strtok_r(list, ",", &save); item; item = strtok_r(NULL, ",", &save)) {
    if (count == MAX_GROUPS) {
      fprintf(stderr, "cove-exec: too many groups\n");
      exit(SETUP_FAILED);
    }
    groups[count++] = (gid_t)parse_id(item, "group id");
  }
  return count;
}

static void reset_signals(void) {
  for (int sig = 1; sig < NSIG; sig++) {
    if (sig == SIGKILL || sig == SIGSTOP) continue;
    signal(sig, SIG_DFL); /* fails harmlessly for signals glibc reserves */
  }
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, NULL);
}

int main(int argc, char **argv) {
  if (argc < 8 || strcmp(argv[6], "--") != 0) {
    fprintf(stderr, "usage: cove-exec <uid> <gid> <g1,g2,..> <root> <cwd> -- <cmd> [args...]\n");
    return SETUP_FAILED;
  }
  uid_t uid = (uid_t)parse_id(argv[1], "uid");
  gid_t gid = (gid_t)parse_id(argv[2], "gid");
  static gid_t groups[MAX_GROUPS];
  size_t ngroups = parse_groups(argv[3], groups);
  const char *root = argv[4];
  const char *cwd = argv[5];
  char **cmd = &argv[7];

  if (strcmp(root, "/") != 0) {
    if (chroot(root) != 0) die("chroot", root);
    if (chdir("/") != 0) die("chdir", "/");
  }
  if (chdir(cwd) != 0) die("chdir", cwd);
  if (setgroups(ngroups, groups) != 0) die("setgroups", argv[3]);
  if (setgid(gid) != 0) die("setgid", argv[2]);
  if (setuid(uid) != 0) die("setuid", argv[1]);
  reset_signals();

  execvp(cmd[0], cmd);
  int err = errno;
  fprintf(stderr, "%s: %s\n", cmd[0], strerror(err));
  return err == ENOENT ? 127 : 126;
}
