/*
 * payload.c - releasing payload references the engine has retired.
 *
 * Handles come back from tl_drain_retired() only once no live snapshot can
 * yield them.  They are copied into a local array first and DECREFed after
 * the engine call has returned, with the GIL held: a payload whose __del__
 * re-enters the same log (append, iterate, close) then finds the engine idle
 * and the binding's state consistent.
 */
#include "capi.h"

void capi_release_retired(TimelogObject *self)
{
    tl_handle buf[CAPI_DRAIN_CAP];
    size_t n;

    /* The engine ends a safe point with a short answer (it paces
     * drain_batch_limit itself); the log may be closed by a payload's
     * __del__ meanwhile, which the next call reports as "nothing". */
    do {
        n = 0;
        if (self->log == NULL || tl_drain_retired(self->log, buf, CAPI_DRAIN_CAP, &n) != TL_OK)
            return;
        tlpy_release_handles(buf, n);
    } while (n == CAPI_DRAIN_CAP);
}
