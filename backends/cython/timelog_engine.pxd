# Cython declarations of core/include/timelog.h (the engine's one public
# header), backends/shared/messages.h (the message catalog and reprs) and
# backends/shared/pyshared.h (conversions and errors shared with the C-API
# binding).  Engine functions are declared nogil: the engine never touches
# Python objects, so the binding may release the GIL around any call.

from libc.stdint cimport int32_t, int64_t, uint64_t


cdef extern from "timelog.h" nogil:
    ctypedef int tl_status

    enum:
        TL_OK
        TL_EOF
        TL_EINVAL
        TL_ESTATE
        TL_EBUSY
        TL_ENOMEM
        TL_EOVERFLOW
        TL_EINTERNAL

    const char *tl_status_message(tl_status st)
    const char *tl_last_error()

    ctypedef uint64_t tl_handle
    int64_t TL_TS_MIN
    int64_t TL_TS_MAX

    enum:
        TL_UNIT_S
        TL_UNIT_MS
        TL_UNIT_US
        TL_UNIT_NS
    enum:
        TL_MAINT_DISABLED
        TL_MAINT_BACKGROUND
    enum:
        TL_BUSY_RAISE
        TL_BUSY_SILENT
        TL_BUSY_FLUSH
    enum:
        TL_SPANS_SEGMENT
        TL_SPANS_ALL

    ctypedef struct tl_config:
        int32_t time_unit
        int32_t maintenance
        int32_t busy_policy
        int32_t reserved
        int64_t memtable_max_bytes
        int64_t target_page_bytes
        int64_t sealed_max_runs
        int64_t drain_batch_limit

    void tl_config_init(tl_config *cfg)
    tl_status tl_config_set_str(tl_config *cfg, const char *name, const char *value,
                                size_t value_len)
    tl_status tl_config_set_int(tl_config *cfg, const char *name, int64_t value)
    tl_status tl_parse_span_kind(const char *name, size_t len, int32_t *out)

    ctypedef struct tl_log:
        pass

    tl_status tl_log_open(const tl_config *cfg, tl_log **out)
    tl_status tl_log_close(tl_log *log)
    tl_status tl_log_destroy(tl_log *log)
    int32_t tl_log_is_closed(const tl_log *log)
    tl_status tl_log_config(const tl_log *log, tl_config *out)
    const char *tl_log_option_str(const tl_log *log, const char *name)

    tl_status tl_append(tl_log *log, int64_t ts, tl_handle h)
    tl_status tl_append_batch(tl_log *log, const int64_t *ts, const tl_handle *h,
                              size_t n, size_t *accepted)
    tl_status tl_delete_range(tl_log *log, int64_t t1, int64_t t2)
    tl_status tl_delete_before(tl_log *log, int64_t cutoff)

    tl_status tl_flush(tl_log *log)
    tl_status tl_compact(tl_log *log)
    tl_status tl_maint_start(tl_log *log)
    tl_status tl_maint_stop(tl_log *log)

    tl_status tl_drain_retired(tl_log *log, tl_handle *out, size_t cap, size_t *n_out)
    tl_status tl_log_handles(tl_log *log, tl_handle *out, size_t cap, size_t *n_total)

    ctypedef struct tl_stats:
        uint64_t memtable_records
        uint64_t memrun_records
        uint64_t l0_records
        uint64_t l1_records
        uint64_t memruns
        uint64_t l0_segments
        uint64_t l1_segments
        uint64_t pages
        uint64_t tombstones
        uint64_t retired_len
        uint64_t live_snapshots
        uint64_t bytes_used
        uint64_t alloc_failures
        uint64_t flushes
        uint64_t compactions

    tl_status tl_log_stats(const tl_log *log, tl_stats *out)

    ctypedef struct tl_snapshot:
        pass

    tl_status tl_snapshot_acquire(tl_log *log, tl_snapshot **out)
    tl_status tl_snapshot_retain(tl_snapshot *snap)
    void tl_snapshot_release(tl_snapshot *snap)
    tl_log *tl_snapshot_log(const tl_snapshot *snap)

    ctypedef struct tl_iter:
        pass

    enum:
        TL_QUERY_RANGE
        TL_QUERY_SINCE
        TL_QUERY_UNTIL
        TL_QUERY_ALL
        TL_QUERY_POINT

    tl_status tl_iter_open(tl_snapshot *snap, int32_t query, int64_t t1, int64_t t2,
                           tl_iter **out)
    tl_status tl_log_iter(tl_log *log, int32_t query, int64_t t1, int64_t t2,
                          tl_iter **out)
    tl_status tl_iter_next(tl_iter *it, int64_t *ts, tl_handle *h)
    tl_status tl_iter_next_batch(tl_iter *it, int64_t *ts_out, tl_handle *h_out,
                                 size_t cap, size_t *n_out)
    void tl_iter_destroy(tl_iter *it)
    tl_status tl_count(tl_snapshot *snap, int32_t query, int64_t t1, int64_t t2,
                       uint64_t *out)
    tl_status tl_log_count(tl_log *log, int32_t query, int64_t t1, int64_t t2,
                           uint64_t *out)

    ctypedef struct tl_spans:
        pass

    ctypedef struct tl_span:
        const int64_t *ts
        const tl_handle *h
        size_t len
        tl_snapshot *owner

    tl_status tl_spans_open(tl_snapshot *snap, int64_t t1, int64_t t2, int32_t kind,
                            tl_spans **out)
    tl_status tl_spans_next(tl_spans *sp, tl_span *out)
    void tl_spans_destroy(tl_spans *sp)
    void tl_span_release(tl_span *span)


cdef extern from "messages.h":
    enum:
        TLB_MSG_EXTEND_PAIR
        TLB_MSG_EXTEND_LENGTHS
        TLB_MSG_EXTEND_TS_ARRAY
        TLB_MSG_SPAN_EXPORTED
        TLB_MSG_SPAN_CLOSED
        TLB_MSG_INDEX_RANGE
        TLB_MSG_INDEX_TYPE
        TLB_MSG_EXTEND_TS_TYPE
        TLB_MSG_EXTEND_OBJS_TYPE
        TLB_MSG_NO_CONSTRUCT
        TLB_MSG_NO_PICKLE
        TLB_MSG_REINIT
    const char *tlb_message(int32_t msg_id)
    int32_t tlb_repr_log(char *buf, size_t cap, const char *backend, const char *unit,
                         uint64_t records, int32_t closed)
    int32_t tlb_repr_iter(char *buf, size_t cap, int32_t query, int64_t t1, int64_t t2,
                          int32_t closed)
    int32_t tlb_repr_span_iter(char *buf, size_t cap, int64_t t1, int64_t t2, int32_t kind,
                               int32_t closed)
    int32_t tlb_repr_span(char *buf, size_t cap, uint64_t len, int64_t first, int64_t last,
                          int32_t closed)
    int32_t tlb_repr_objects(char *buf, size_t cap, uint64_t len, int32_t closed)


# Each returns -1 with the exception set (Cython then propagates it).
cdef extern from "pyshared.h":
    int tlpy_init() except -1
    int tlpy_status_error(tl_status st) except -1
    int tlpy_message_error(object exc, int32_t msg_id) except -1
    int tlpy_type_error(object exc, int32_t msg_id, object obj) except -1
    int tlpy_closed_error() except -1
    int tlpy_ts(object o, int64_t *out) except -1
    int tlpy_int_option(const char *name, object o, int64_t *out) except -1
    int tlpy_size(const char *method, object o, int64_t *out) except -1
    int tlpy_str_option(const char *name, object o, const char **s, size_t *len) except -1
    str tlpy_text(const char *buf)
    # untracks rec, a new (ts, obj) record, when obj cannot be in a cycle
    void tlpy_settle_record(object rec, object obj)
    # asks for the header of objs[i] (i in range) before it is INCREFed
    void TLPY_PREFETCH_ITEM(list objs, uint64_t i) noexcept
