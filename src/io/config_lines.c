/* Line-level checks of an INI text (config_lines.h). */
#include "io/config_lines.h"

#include <ctype.h>
#include <string.h>

#include "core/status.h"

int zpt_config_check_lines(const char *text, const char *origin) {
  int line = 1;
  for (const char *p = text; *p; line++) {
    const char *end = strchr(p, '\n');
    size_t len = end ? (size_t)(end - p) : strlen(p);
    size_t i = 0;
    while (i < len && isspace((unsigned char)p[i]))
      i++;
    if (i < len && p[i] == '[' && !memchr(p + i, ']', len - i)) {
      size_t shown = len - i;
      while (shown > 0 && isspace((unsigned char)p[i + shown - 1]))
        shown--;
      return zpt_fail(ZPT_EINVAL, "%s:%d: section header '%.*s' lacks its closing ']'",
                      origin, line, (int)(shown > 60 ? 60 : shown), p + i);
    }
    if (!end)
      break;
    p = end + 1;
  }
  return ZPT_OK;
}
