#include "core/status.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define ZPT_MSG_LEN 2048

static _Thread_local char message[ZPT_MSG_LEN];
static _Thread_local int message_status;

const char *zpt_status_name(int status) {
  switch (status) {
  case ZPT_OK: return "OK";
  case ZPT_ENOMEM: return "ENOMEM";
  case ZPT_EINVAL: return "EINVAL";
  case ZPT_EIO: return "EIO";
  case ZPT_EFORMAT: return "EFORMAT";
  case ZPT_ERANGE: return "ERANGE";
  case ZPT_ENUMERIC: return "ENUMERIC";
  case ZPT_EBUDGET: return "EBUDGET";
  case ZPT_EPROTO: return "EPROTO";
  case ZPT_ETIMEOUT: return "ETIMEOUT";
  case ZPT_ENOTFOUND: return "ENOTFOUND";
  case ZPT_EBACKEND: return "EBACKEND";
  default: return "EUNKNOWN";
  }
}

int zpt_fail(int status, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(message, sizeof message, fmt, ap);
  va_end(ap);
  message_status = status;
  return status;
}

int zpt_fail_context(int status, const char *fmt, ...) {
  char prefix[ZPT_MSG_LEN];
  char old[ZPT_MSG_LEN];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(prefix, sizeof prefix, fmt, ap);
  va_end(ap);
  memcpy(old, message, sizeof old);
  size_t lp = strnlen(prefix, sizeof message - 1);
  size_t lo = strnlen(old, sizeof message - 1 - lp);
  memcpy(message, prefix, lp);
  memcpy(message + lp, old, lo);
  message[lp + lo] = '\0';
  message_status = status;
  return status;
}

const char *zpt_error_message(void) { return message; }

int zpt_error_status(void) { return message_status; }

void zpt_error_clear(void) {
  message[0] = '\0';
  message_status = ZPT_OK;
}
