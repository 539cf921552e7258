/* Transport of the chip protocol: deadline-bounded I/O, spawning, sockets. */
#define _POSIX_C_SOURCE 200809L
#include "hw/chip_io.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core/timer.h"

extern char **environ;

/* Waits until fd is ready for `events` or the deadline passes. */
static zpt_chip_io wait_ready(int fd, short events, double deadline) {
  for (;;) {
    int ms = -1;
    if (deadline >= 0) {
      double left = deadline - zpt_now();
      if (left <= 0)
        return ZPT_IO_TIMEOUT;
      ms = (int)(left * 1000.0) + 1;
    }
    struct pollfd p = {.fd = fd, .events = events};
    int r = poll(&p, 1, ms);
    if (r > 0)
      return ZPT_IO_OK; /* readable, writable, hung up or error: the call says which */
    if (r < 0 && errno != EINTR)
      return ZPT_IO_ERROR;
  }
}

zpt_chip_io zpt_chip_read(int fd, void *buf, size_t n, double deadline, size_t *got) {
  unsigned char *p = buf;
  *got = 0;
  while (*got < n) {
    zpt_chip_io w = wait_ready(fd, POLLIN, deadline);
    if (w != ZPT_IO_OK)
      return w;
    ssize_t r = read(fd, p + *got, n - *got);
    if (r > 0)
      *got += (size_t)r;
    else if (r == 0)
      return ZPT_IO_EOF;
    else if (errno == ECONNRESET)
      return ZPT_IO_EOF;
    else if (errno != EINTR && errno != EAGAIN && errno != EWOULDBLOCK)
      return ZPT_IO_ERROR;
  }
  return ZPT_IO_OK;
}

zpt_chip_io zpt_chip_write(int fd, const void *buf, size_t n, double deadline) {
  sigset_t pipe_set, old_mask, pending;
  sigemptyset(&pipe_set);
  sigaddset(&pipe_set, SIGPIPE);
  pthread_sigmask(SIG_BLOCK, &pipe_set, &old_mask);
  sigpending(&pending);
  int was_pending = sigismember(&pending, SIGPIPE);

  const unsigned char *p = buf;
  size_t done = 0;
  zpt_chip_io rc = ZPT_IO_OK;
  int saved_errno = 0;
  while (done < n) {
    rc = wait_ready(fd, POLLOUT, deadline);
    if (rc != ZPT_IO_OK)
      break;
    ssize_t w = write(fd, p + done, n - done);
    if (w > 0) {
      done += (size_t)w;
    } else if (w < 0 && (errno == EPIPE || errno == ECONNRESET)) {
      rc = ZPT_IO_EOF;
      break;
    } else if (w < 0 && errno != EINTR && errno != EAGAIN && errno != EWOULDBLOCK) {
      rc = ZPT_IO_ERROR;
      break;
    }
  }
  saved_errno = errno;
  if (rc == ZPT_IO_EOF && !was_pending) {
    /* consume the SIGPIPE this write raised, so it never reaches the process */
    struct timespec zero = {0, 0};
    while (sigtimedwait(&pipe_set, NULL, &zero) < 0 && errno == EINTR) {
    }
  }
  pthread_sigmask(SIG_SETMASK, &old_mask, NULL);
  errno = saved_errno;
  return rc;
}

int zpt_chip_fd_prepare(int fd) {
  int fl = fcntl(fd, F_GETFL);
  if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
    return -1;
  int fdfl = fcntl(fd, F_GETFD);
  if (fdfl < 0 || fcntl(fd, F_SETFD, fdfl | FD_CLOEXEC) < 0)
    return -1;
  return 0;
}

static void close_pair(int p[2]) {
  if (p[0] >= 0)
    close(p[0]);
  if (p[1] >= 0)
    close(p[1]);
}

int zpt_chip_spawn(char *const argv[], pid_t *pid, int *to_child, int *from_child) {
  int in_pipe[2] = {-1, -1}, out_pipe[2] = {-1, -1}, err = 0;
  if (pipe(in_pipe) < 0 || pipe(out_pipe) < 0) {
    err = errno;
    goto fail;
  }
  /* every end is close-on-exec: the child only keeps the dup2'ed 0 and 1 */
  for (int i = 0; i < 2; i++) {
    if (fcntl(in_pipe[i], F_SETFD, FD_CLOEXEC) < 0 ||
        fcntl(out_pipe[i], F_SETFD, FD_CLOEXEC) < 0) {
      err = errno;
      goto fail;
    }
  }
  posix_spawn_file_actions_t fa;
  if ((err = posix_spawn_file_actions_init(&fa)) != 0)
    goto fail;
  err = posix_spawn_file_actions_adddup2(&fa, in_pipe[0], 0);
  if (!err)
    err = posix_spawn_file_actions_adddup2(&fa, out_pipe[1], 1);
  posix_spawnattr_t attr;
  int attr_ok = 0;
  if (!err && !(err = posix_spawnattr_init(&attr))) {
    attr_ok = 1;
    /* the driver starts with default SIGPIPE handling and an empty mask,
     * whatever the trainer's threads have blocked */
    sigset_t none, dfl;
    sigemptyset(&none);
    sigemptyset(&dfl);
    sigaddset(&dfl, SIGPIPE);
    err = posix_spawnattr_setsigmask(&attr, &none);
    if (!err)
      err = posix_spawnattr_setsigdefault(&attr, &dfl);
    if (!err)
      err = posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  }
  if (!err)
    err = posix_spawnp(pid, argv[0], &fa, attr_ok ? &attr : NULL, argv, environ);
  posix_spawn_file_actions_destroy(&fa);
  if (attr_ok)
    posix_spawnattr_destroy(&attr);
  if (err)
    goto fail;
  close(in_pipe[0]);
  close(out_pipe[1]);
  if (zpt_chip_fd_prepare(in_pipe[1]) < 0 || zpt_chip_fd_prepare(out_pipe[0]) < 0) {
    err = errno;
    close(in_pipe[1]);
    close(out_pipe[0]);
    int st;
    zpt_chip_reap(*pid, -1, &st);
    return err;
  }
  *to_child = in_pipe[1];
  *from_child = out_pipe[0];
  return 0;
fail:
  close_pair(in_pipe);
  close_pair(out_pipe);
  return err ? err : EIO;
}

int zpt_chip_reap(pid_t pid, double wait_s, int *status) {
  double until = zpt_now() + (wait_s > 0 ? wait_s : 0);
  for (;;) {
    pid_t r = waitpid(pid, status, WNOHANG);
    if (r == pid)
      return 1;
    if (r < 0 && errno == ECHILD)
      return -1;
    if (wait_s < 0) {
      kill(pid, SIGKILL);
      while ((r = waitpid(pid, status, 0)) < 0 && errno == EINTR) {
      }
      return r == pid ? 1 : -1;
    }
    if (zpt_now() >= until)
      return 0;
    struct timespec ts = {0, 5 * 1000 * 1000};
    nanosleep(&ts, NULL);
  }
}

static int unix_address(const char *path, struct sockaddr_un *a) {
  memset(a, 0, sizeof *a);
  a->sun_family = AF_UNIX;
  if (strlen(path) >= sizeof a->sun_path) {
    errno = ENAMETOOLONG;
    return -1;
  }
  strcpy(a->sun_path, path);
  return 0;
}

int zpt_chip_connect_unix(const char *path) {
  struct sockaddr_un a;
  if (unix_address(path, &a) < 0)
    return -1;
  int fd = socket(AF_UNIX, SOCK_STREAM, 0);
  if (fd < 0)
    return -1;
  /* a local connect completes at once or fails (ENOENT, ECONNREFUSED) */
  if (connect(fd, (struct sockaddr *)&a, sizeof a) < 0 || zpt_chip_fd_prepare(fd) < 0) {
    int e = errno;
    close(fd);
    errno = e;
    return -1;
  }
  return fd;
}

int zpt_chip_listen_unix(const char *path) {
  struct sockaddr_un a;
  if (unix_address(path, &a) < 0)
    return -1;
  struct stat st;
  if (lstat(path, &st) == 0 && S_ISSOCK(st.st_mode)) {
    int live = zpt_chip_connect_unix(path);
    if (live >= 0) { /* another driver serves there: do not steal its socket */
      close(live);
      errno = EADDRINUSE;
      return -1;
    }
    unlink(path); /* a stale socket of an earlier run; never another file */
  }
  int fd = socket(AF_UNIX, SOCK_STREAM, 0);
  if (fd < 0)
    return -1;
  if (fcntl(fd, F_SETFD, FD_CLOEXEC) < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) < 0 ||
      listen(fd, 4) < 0) {
    int e = errno;
    close(fd);
    errno = e;
    return -1;
  }
  return fd;
}

/* Splits "HOST:PORT" / "[V6]:PORT" into host and port strings. */
static int split_hostport(const char *hp, char *host, size_t cap, char *port) {
  const char *colon = strrchr(hp, ':');
  if (!colon || colon == hp || !colon[1] || strlen(colon + 1) > 5)
    return -1;
  const char *h = hp;
  size_t hl = (size_t)(colon - hp);
  if (h[0] == '[' && hl >= 2 && h[hl - 1] == ']') {
    h++;
    hl -= 2;
  }
  if (hl == 0 || hl >= cap)
    return -1;
  memcpy(host, h, hl);
  host[hl] = '\0';
  char *end;
  long pn = strtol(colon + 1, &end, 10);
  if (*end || pn < 0 || pn > 65535)
    return -1;
  snprintf(port, 6, "%ld", pn);
  return 0;
}

static struct addrinfo *resolve(const char *hostport, int passive) {
  char host[256], port[6];
  if (split_hostport(hostport, host, sizeof host, port) < 0) {
    errno = EINVAL;
    return NULL;
  }
  struct addrinfo hints = {0}, *res = NULL;
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = passive ? AI_PASSIVE : 0;
  if (getaddrinfo(host, port, &hints, &res) != 0 || !res) {
    errno = ENOENT;
    return NULL;
  }
  return res;
}

/* Makes fd, a new socket for address a, connected (0) or listening, or
 * says why not (an errno value). */
typedef int (*attach_fn)(int fd, const struct addrinfo *a, double deadline);

/* A socket on the first address of hostport that attach accepts, or -1
 * with errno = the last address's error (err when none could be tried). */
static int first_socket(const char *hostport, int passive, int err, attach_fn attach,
                        double deadline) {
  struct addrinfo *res = resolve(hostport, passive);
  if (!res)
    return -1;
  int fd = -1;
  for (struct addrinfo *a = res; a && fd < 0; a = a->ai_next) {
    fd = socket(a->ai_family, a->ai_socktype, a->ai_protocol);
    if (fd < 0) {
      err = errno;
      continue;
    }
    int e = attach(fd, a, deadline);
    if (e) {
      err = e;
      close(fd);
      fd = -1;
    }
  }
  freeaddrinfo(res);
  if (fd < 0)
    errno = err;
  return fd;
}

static int attach_connect(int fd, const struct addrinfo *a, double deadline) {
  if (zpt_chip_fd_prepare(fd) < 0)
    return errno ? errno : EIO;
  if (connect(fd, a->ai_addr, a->ai_addrlen) == 0)
    return 0;
  if (errno != EINPROGRESS)
    return errno;
  int soerr = 0; /* finish within the deadline */
  socklen_t sl = sizeof soerr;
  zpt_chip_io w = wait_ready(fd, POLLOUT, deadline);
  if (w == ZPT_IO_OK && getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) == 0 && !soerr)
    return 0;
  int e = w == ZPT_IO_TIMEOUT ? ETIMEDOUT : (soerr ? soerr : errno);
  return e ? e : EIO;
}

static int attach_listen(int fd, const struct addrinfo *a, double deadline) {
  (void)deadline;
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (fcntl(fd, F_SETFD, FD_CLOEXEC) < 0 || bind(fd, a->ai_addr, a->ai_addrlen) < 0 ||
      listen(fd, 4) < 0)
    return errno ? errno : EIO;
  return 0;
}

int zpt_chip_connect_tcp(const char *hostport, double deadline) {
  int fd = first_socket(hostport, 0, ECONNREFUSED, attach_connect, deadline);
  if (fd < 0)
    return -1;
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one); /* small frames, no Nagle */
  return fd;
}

int zpt_chip_listen_tcp(const char *hostport, unsigned *port) {
  int fd = first_socket(hostport, 1, EADDRNOTAVAIL, attach_listen, 0.0);
  if (fd < 0)
    return -1;
  struct sockaddr_storage ss;
  socklen_t sl = sizeof ss;
  *port = 0;
  if (getsockname(fd, (struct sockaddr *)&ss, &sl) == 0) {
    if (ss.ss_family == AF_INET)
      *port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
    else if (ss.ss_family == AF_INET6)
      *port = ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
  }
  return fd;
}
