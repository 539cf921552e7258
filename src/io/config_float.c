/* Real-valued keys in the precision they are used in (config_float.h). */
#include "io/config_float.h"

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

/* The keys read as double and never rounded to float32 (src/tasks/:
 * the equalisation channel is simulated in double; cli/task.c: the chip
 * driver's timeout). */
static const char *const double_only[] = {
    "data.snr_db",       "data.imdd_length_km",     "data.imdd_dispersion",
    "data.imdd_baud_gbd", "data.imdd_wavelength_nm", "chip.timeout_s",
};

int zpt_config_key_is_double(const char *section, const char *key) {
  char name[160];
  snprintf(name, sizeof name, "%s.%s", section, key);
  for (size_t i = 0; i < sizeof double_only / sizeof double_only[0]; i++)
    if (!strcmp(name, double_only[i]))
      return 1;
  return 0;
}

int zpt_config_float_unusable(const char *section, const char *key, double x, char *why,
                              size_t cap) {
  if (x == 0 || !isfinite(x) || zpt_config_key_is_double(section, key))
    return 0;
  double a = fabs(x);
  if (a < FLT_MIN) {
    snprintf(why, cap, "%g is used in float32, where it is %s (the smallest normal float32 "
             "is %.9g)", x, (float)x == 0.0f ? "0" : "a denormal that loses precision",
             (double)FLT_MIN);
    return 1;
  }
  if (a > FLT_MAX) {
    snprintf(why, cap, "%g is used in float32, where it is infinite (the largest float32 is "
             "%.9g)", x, (double)FLT_MAX);
    return 1;
  }
  return 0;
}
