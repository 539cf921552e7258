/* Real-valued configuration keys checked in the precision they are used in.
 *
 * The schema stores every real key as a double, but most of them end up in
 * float32 arithmetic (the perturbation step mu, the learning rate, Adam's
 * eps, the chip's error sigmas, ...).  A value such as zo.mu = 1e-300
 * passes "> 0" as a double and is 0 in float32: the run would train nothing
 * and exit 0.  So a non-zero value of a float32 key must be a normal float32
 * (1.17549435e-38 <= |x| <= 3.40282347e+38); keys used in double only
 * (wall-clock seconds, the channel physics of the equalisation tasks) keep
 * the double range.
 */
#ifndef ZPT_CONFIG_FLOAT_H
#define ZPT_CONFIG_FLOAT_H

#include <stddef.h>

/* 1 when "section.key" is used in double arithmetic only. */
int zpt_config_key_is_double(const char *section, const char *key);

/* 0 when x is usable for the key; otherwise 1 and the reason in why ("is
 * below the smallest normal float32 ..."). */
int zpt_config_float_unusable(const char *section, const char *key, double x, char *why,
                              size_t cap);

#endif
