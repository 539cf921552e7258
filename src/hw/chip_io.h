/* Byte-stream transport for the chip protocol: reads and writes with a
 * deadline (poll), SIGPIPE-safe writes, spawning a driver on pipes, Unix
 * sockets.  Internal to src/hw: these functions return a zpt_chip_io code
 * and leave errno set; the client and server turn that into messages that
 * name the driver and the request. */
#ifndef ZPT_CHIP_IO_H
#define ZPT_CHIP_IO_H

#include <stddef.h>
#include <sys/types.h>

typedef enum {
  ZPT_IO_OK = 0,
  ZPT_IO_EOF,     /* the peer closed (read), or EPIPE/ECONNRESET (write) */
  ZPT_IO_TIMEOUT, /* the deadline passed */
  ZPT_IO_ERROR    /* another error: see errno */
} zpt_chip_io;

/* Reads exactly n bytes.  deadline: zpt_now() value, < 0 = wait forever.
 * *got receives the bytes read (also on failure). */
zpt_chip_io zpt_chip_read(int fd, void *buf, size_t n, double deadline, size_t *got);

/* Writes exactly n bytes without ever raising SIGPIPE in the process
 * (SIGPIPE is blocked in the calling thread for the duration and a pending
 * one it caused is consumed). */
zpt_chip_io zpt_chip_write(int fd, const void *buf, size_t n, double deadline);

/* Spawns argv[0] (PATH lookup, no shell) with its stdin/stdout on pipes;
 * *to_child / *from_child are our non-blocking, close-on-exec ends.
 * Returns 0 or an errno value. */
int zpt_chip_spawn(char *const argv[], pid_t *pid, int *to_child, int *from_child);

/* Waits up to `wait_s` seconds for pid to end; returns 1 and *status when it
 * has, 0 if it still runs, -1 if it is not (or no longer) our child, e.g.
 * reaped elsewhere because SIGCHLD is ignored (status unknown).  wait_s < 0:
 * kill it (SIGKILL) at once and reap it (never returns 0). */
int zpt_chip_reap(pid_t pid, double wait_s, int *status);

/* Connects to a Unix-domain stream socket; returns the fd (non-blocking,
 * close-on-exec) or -1 with errno set (ENAMETOOLONG for a long path). */
int zpt_chip_connect_unix(const char *path);

/* Creates a listening Unix-domain socket at path; a stale socket file (no
 * one accepts on it) is replaced, a live one fails with EADDRINUSE.  Returns
 * the fd or -1 with errno set. */
int zpt_chip_listen_unix(const char *path);

/* Connects to "HOST:PORT" over TCP (HOST a name or address, "[v6]" allowed;
 * the last ':' separates the port) within the deadline.  Returns the fd
 * (non-blocking, close-on-exec, TCP_NODELAY) or -1 with errno set; a
 * malformed address gives EINVAL, an unknown host ENOENT. */
int zpt_chip_connect_tcp(const char *hostport, double deadline);

/* A listening TCP socket on "HOST:PORT" (port 0 = any free port); the port
 * actually bound goes to *port.  Returns the fd or -1 with errno set. */
int zpt_chip_listen_tcp(const char *hostport, unsigned *port);

/* Sets O_NONBLOCK and FD_CLOEXEC; returns 0 or -1. */
int zpt_chip_fd_prepare(int fd);

#endif
