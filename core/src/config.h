/*
 * config.h - configuration validation, rounding and option names.
 */
#ifndef TL_CONFIG_H
#define TL_CONFIG_H

#include "timelog.h"

#define TL_MIN_MEMTABLE_BYTES 1024
#define TL_MIN_PAGE_BYTES 256
/* Larger page targets are clamped: a page is one allocation per array. */
#define TL_MAX_PAGE_BYTES ((int64_t)1 << 30)

/* Validate in and write the normalized (rounded) values to out.
 * TL_EINVAL with a message naming the field on a bad value. */
tl_status tl_config_normalize(const tl_config *in, tl_config *out);

/* Option value names; NULL when out of range. */
const char *tl_unit_name(int32_t v);
const char *tl_maint_name(int32_t v);
const char *tl_busy_name(int32_t v);

#endif
