"""The selected backend's module, under a stable name.

``timelog._timelog`` IS the module of the backend chosen at import time
(``timelog._backend_capi``, ``_backend_cython`` or ``_backend_cffi``; see
:mod:`timelog._select`), so code written against the single-extension layout
keeps working::

    from timelog._timelog import Timelog as _CTimelog   # the backend's class

Importing it never selects a second time: it is the same module object as
``timelog.load_backend(timelog.BACKEND)``.
"""

import sys

from timelog._select import selected

# Replace this module by the backend's own: the import system hands back
# whatever sys.modules holds under this name once the module body has run.
sys.modules[__name__] = selected()[1]
