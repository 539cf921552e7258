/* Status codes and error messages that carry context.
 *
 * Every fallible function in zoptic returns an int status: ZPT_OK (0) on
 * success, a negative ZPT_E* code on failure.  The failing function records a
 * message naming what failed (the user's file, the record or key, what was
 * expected and what was found) with zpt_fail(); the caller reads it with
 * zpt_error_message().  The message buffer is per thread, so threads never
 * see each other's errors.
 */
#ifndef ZPT_STATUS_H
#define ZPT_STATUS_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

enum {
  ZPT_OK = 0,
  ZPT_ENOMEM = -1,   /* allocation failed */
  ZPT_EINVAL = -2,   /* invalid argument, shape or setting */
  ZPT_EIO = -3,      /* a file or pipe could not be opened, read or written */
  ZPT_EFORMAT = -4,  /* malformed input: wrong magic, truncated, bad field */
  ZPT_ERANGE = -5,   /* a value outside its allowed range */
  ZPT_ENUMERIC = -6, /* non-finite number, matrix not positive definite */
  ZPT_EBUDGET = -7,  /* the query budget is spent */
  ZPT_EPROTO = -8,   /* chip-driver protocol violation */
  ZPT_ETIMEOUT = -9, /* an external process did not answer in time */
  ZPT_ENOTFOUND = -10, /* a named item (view, key, file) does not exist */
  ZPT_EBACKEND = -11   /* the black box (e.g. a chip driver) could not be reached */
};

/* Short name of a status code ("ENOMEM", ...). */
const char *zpt_status_name(int status);

/* Records a printf-style message for this thread and returns `status`, so
 * that `return zpt_fail(ZPT_EFORMAT, "%s: record %zu: ...", ...)` reads
 * naturally.  Messages longer than the buffer are truncated. */
int zpt_fail(int status, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Prepends context ("while loading model: ") to this thread's current
 * message and returns `status` unchanged. */
int zpt_fail_context(int status, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* The last message recorded by this thread ("" if none). */
const char *zpt_error_message(void);

/* The status recorded with the last message (ZPT_OK if none). */
int zpt_error_status(void);

/* Forgets the current message. */
void zpt_error_clear(void);

/* Evaluate `expr` (an int status); on failure return it from the caller. */
#define ZPT_TRY(expr)                     \
  do {                                    \
    int zpt_try_status_ = (expr);         \
    if (zpt_try_status_ != ZPT_OK)        \
      return zpt_try_status_;             \
  } while (0)

#ifdef __cplusplus
}
#endif
#endif
