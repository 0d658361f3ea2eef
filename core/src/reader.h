/*
 * reader.h - the reader unit (reader.c): what iterators, span enumerators and
 * counts share: query validation and bounds, sizing a snapshot's sources and
 * adding them, in age order, to a merge.
 */
#ifndef TL_READER_H
#define TL_READER_H

#include "log.h"
#include "merge.h"

/* TL_EINVAL (message set) unless query is a TL_QUERY_* value. */
tl_status tl_check_query(int32_t query);
/* Inclusive bounds [*lo, *hi] of a query; 0 when its result is empty. */
int tl_query_bounds(int32_t q, int64_t t1, int64_t t2, int64_t *lo, int64_t *hi);
/* Cursor slots needed for snap; *nrun_pages = pages of its memtable run
 * (the caller provides nrun_pages + 1 page slots). */
size_t tl_reader_sizes(const tl_snapshot *snap, size_t *nrun_pages);
/* Add snap's sources positioned at lo: L1 and L0 always; memruns and the
 * memtable when all. */
void tl_reader_add_sources(const tl_snapshot *snap, tl_merge *mg, tl_page *mtpages, int64_t lo, int all);

#endif
