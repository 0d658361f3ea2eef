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

void capi_release_handles(const tl_handle *h, size_t n)
{
    if (n == 0)
        return;
    capi_exc_state saved;
    capi_exc_save(&saved);
    for (size_t i = 0; i < n; i++)
        Py_DECREF(CAPI_H2O(h[i]));
    capi_exc_restore(&saved);
}

void capi_release_retired(TimelogObject *self, int all)
{
    tl_handle buf[CAPI_DRAIN_CAP];

    while (self->log != NULL) {
        size_t n = 0;
        if (tl_drain_retired(self->log, buf, CAPI_DRAIN_CAP, &n) != TL_OK || n == 0)
            break;
        capi_release_handles(buf, n);
        /* One safe point makes one engine call when the engine caps each
         * drain (drain_batch_limit > 0); otherwise it empties what is
         * releasable now. */
        if (!all && (self->drain_limit > 0 || n < CAPI_DRAIN_CAP))
            break;
    }
}
