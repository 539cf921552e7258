/* Does a checkpoint belong to its run directory?
 *
 * A ckpt.h5 copied from another run into a run directory would be resumed
 * and its rows appended to a log.csv that describes a different run.  The
 * checkpoint carries the resolved configuration it was trained with; the
 * run directory carries config.ini, written when the run was created.
 * Every key outside [output] (which names where results go, not what is
 * computed) must agree, value for value.
 */
#ifndef ZPT_RUNCHECK_H
#define ZPT_RUNCHECK_H

#include <stddef.h>

#include "io/config.h"

/* The first key in schema order whose value differs between a and b,
 * skipping the section `skip` (NULL: none).  Returns 1 and writes
 * "[zo] mu = 0.01 here, 0.001 there" style text ("[sec] key = A / B") into
 * desc, or 0 when they agree. */
int zpt_config_first_difference(const zpt_config *a, const zpt_config *b, const char *skip,
                                char *desc, size_t cap);

/* Checks the configuration of dir's checkpoint (ckpt_cfg, read from its
 * config attribute) against dir/config.ini.  ZPT_OK when they agree or
 * config.ini is absent; ZPT_EFORMAT naming the first differing key
 * otherwise; the failure of reading config.ini if it is unreadable. */
int zpt_rundir_check_checkpoint(const char *dir, const zpt_config *ckpt_cfg);

#endif
