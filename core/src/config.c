/*
 * config.c - tl_config defaults, setters and validation.
 *
 * Setters store the value the caller gave (after checking it); rounding up to
 * the documented minimums happens once, in tl_config_normalize(), which
 * tl_log_open() runs on whatever it receives (fields may also be written
 * directly, so everything is validated again there).
 */
#include "config.h"

#include <inttypes.h>
#include <string.h>

#include "error.h"

static const char *const unit_names[] = {"s", "ms", "us", "ns"};
static const char *const maint_names[] = {"disabled", "background"};
static const char *const busy_names[] = {"raise", "silent", "flush"};
static const char *const kind_names[] = {"segment", "all"};

#define UNIT_ALLOWED "'s', 'ms', 'us', 'ns'"
#define MAINT_ALLOWED "'disabled', 'background'"
#define BUSY_ALLOWED "'raise', 'silent', 'flush'"
#define KIND_ALLOWED "'segment', 'all'"

const char *tl_unit_name(int32_t v) { return v >= 0 && v < 4 ? unit_names[v] : NULL; }
const char *tl_maint_name(int32_t v) { return v >= 0 && v < 2 ? maint_names[v] : NULL; }
const char *tl_busy_name(int32_t v) { return v >= 0 && v < 3 ? busy_names[v] : NULL; }

void tl_config_init(tl_config *cfg)
{
    if (!cfg)
        return;
    memset(cfg, 0, sizeof *cfg);
    cfg->time_unit = TL_UNIT_MS;
    cfg->maintenance = TL_MAINT_DISABLED;
    cfg->busy_policy = TL_BUSY_FLUSH;
    cfg->memtable_max_bytes = (int64_t)1 << 20;
    cfg->target_page_bytes = (int64_t)64 << 10;
    cfg->sealed_max_runs = 4;
    cfg->drain_batch_limit = 0;
}

/* Index of the len-byte value v in names, or -1 (an embedded NUL never
 * matches: names hold none). */
static int find_name(const char *const *names, int n, const char *v, size_t len)
{
    for (int i = 0; i < n; i++)
        if (strlen(names[i]) == len && memcmp(names[i], v, len) == 0)
            return i;
    return -1;
}

/* A value as the error messages quote it: at most 40 bytes, control bytes
 * and backslashes escaped (\xNN, \\), so an embedded NUL is visible. */
static const char *quoted(const char *v, size_t len, char *buf, size_t cap)
{
    static const char hex[] = "0123456789abcdef";
    size_t o = 0, limit = len < 40 ? len : 40;
    while (limit < len && limit > 0 && ((unsigned char)v[limit] & 0xC0) == 0x80)
        limit--; /* never split a UTF-8 sequence: bindings decode the text */
    for (size_t i = 0; i < limit && o + 5 < cap; i++) {
        unsigned char c = (unsigned char)v[i];
        if (c < 0x20 || c == 0x7f || c == '\\') {
            if (c == '\\') {
                buf[o++] = '\\';
                buf[o++] = '\\';
            } else {
                buf[o++] = '\\';
                buf[o++] = 'x';
                buf[o++] = hex[c >> 4];
                buf[o++] = hex[c & 15];
            }
        } else {
            buf[o++] = (char)c;
        }
    }
    if (len > limit && o + 4 < cap) {
        memcpy(buf + o, "...", 3);
        o += 3;
    }
    buf[o] = '\0';
    return buf;
}

tl_status tl_config_set_str(tl_config *cfg, const char *name, const char *value, size_t value_len)
{
    if (!cfg)
        return tl_err_null("cfg");
    if (!name)
        return tl_err_null("name");
    if (!value)
        return tl_err_null("value");
    int i;
    char q[200];
    if (strcmp(name, "time_unit") == 0) {
        if ((i = find_name(unit_names, 4, value, value_len)) < 0)
            return tl_errorf(TL_EINVAL, "time_unit must be one of " UNIT_ALLOWED " (got '%s')",
                             quoted(value, value_len, q, sizeof q));
        cfg->time_unit = i;
    } else if (strcmp(name, "maintenance") == 0) {
        if ((i = find_name(maint_names, 2, value, value_len)) < 0)
            return tl_errorf(TL_EINVAL, "maintenance must be one of " MAINT_ALLOWED " (got '%s')",
                             quoted(value, value_len, q, sizeof q));
        cfg->maintenance = i;
    } else if (strcmp(name, "busy_policy") == 0) {
        if ((i = find_name(busy_names, 3, value, value_len)) < 0)
            return tl_errorf(TL_EINVAL, "busy_policy must be one of " BUSY_ALLOWED " (got '%s')",
                             quoted(value, value_len, q, sizeof q));
        cfg->busy_policy = i;
    } else {
        return tl_errorf(TL_EINVAL,
                         "unknown string option '%s' (expected 'time_unit', 'maintenance' or 'busy_policy')",
                         name);
    }
    return TL_OK;
}

static tl_status check_int(const char *name, int64_t v)
{
    if (strcmp(name, "drain_batch_limit") == 0) {
        if (v < 0)
            return tl_errorf(TL_EINVAL, "drain_batch_limit must be >= 0 (got %" PRId64 ")", v);
    } else if (v <= 0) {
        return tl_errorf(TL_EINVAL, "%s must be > 0 (got %" PRId64 ")", name, v);
    }
    return TL_OK;
}

tl_status tl_config_set_int(tl_config *cfg, const char *name, int64_t value)
{
    if (!cfg)
        return tl_err_null("cfg");
    if (!name)
        return tl_err_null("name");
    int64_t *field;
    if (strcmp(name, "memtable_max_bytes") == 0)
        field = &cfg->memtable_max_bytes;
    else if (strcmp(name, "target_page_bytes") == 0)
        field = &cfg->target_page_bytes;
    else if (strcmp(name, "sealed_max_runs") == 0)
        field = &cfg->sealed_max_runs;
    else if (strcmp(name, "drain_batch_limit") == 0)
        field = &cfg->drain_batch_limit;
    else
        return tl_errorf(TL_EINVAL,
                         "unknown integer option '%s' (expected 'memtable_max_bytes', "
                         "'target_page_bytes', 'sealed_max_runs' or 'drain_batch_limit')",
                         name);
    tl_status st = check_int(name, value);
    if (st != TL_OK)
        return st;
    *field = value;
    return TL_OK;
}

tl_status tl_parse_span_kind(const char *name, size_t len, int32_t *out)
{
    if (!name)
        return tl_err_null("name");
    if (!out)
        return tl_err_null("out");
    int i = find_name(kind_names, 2, name, len);
    char q[200];
    if (i < 0)
        return tl_errorf(TL_EINVAL, "kind must be one of " KIND_ALLOWED " (got '%s')",
                         quoted(name, len, q, sizeof q));
    *out = i;
    return TL_OK;
}

tl_status tl_config_normalize(const tl_config *in, tl_config *out)
{
    tl_config c = *in;
    if (!tl_unit_name(c.time_unit))
        return tl_errorf(TL_EINVAL, "time_unit must be one of " UNIT_ALLOWED " (got %d)", (int)c.time_unit);
    if (!tl_maint_name(c.maintenance))
        return tl_errorf(TL_EINVAL, "maintenance must be one of " MAINT_ALLOWED " (got %d)", (int)c.maintenance);
    if (!tl_busy_name(c.busy_policy))
        return tl_errorf(TL_EINVAL, "busy_policy must be one of " BUSY_ALLOWED " (got %d)", (int)c.busy_policy);
    if (c.reserved != 0)
        return tl_errorf(TL_EINVAL, "reserved must be 0 (got %d)", (int)c.reserved);
    tl_status st;
    if ((st = check_int("memtable_max_bytes", c.memtable_max_bytes)) != TL_OK ||
        (st = check_int("target_page_bytes", c.target_page_bytes)) != TL_OK ||
        (st = check_int("sealed_max_runs", c.sealed_max_runs)) != TL_OK ||
        (st = check_int("drain_batch_limit", c.drain_batch_limit)) != TL_OK)
        return st;
    if (c.memtable_max_bytes < TL_MIN_MEMTABLE_BYTES)
        c.memtable_max_bytes = TL_MIN_MEMTABLE_BYTES;
    if (c.target_page_bytes < TL_MIN_PAGE_BYTES)
        c.target_page_bytes = TL_MIN_PAGE_BYTES;
    if (c.target_page_bytes > TL_MAX_PAGE_BYTES)
        c.target_page_bytes = TL_MAX_PAGE_BYTES;
    *out = c;
    return TL_OK;
}
