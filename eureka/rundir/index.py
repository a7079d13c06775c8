"""Moved: run directories are read by `eureka.rundir.reader`; the runs index is `eureka.views.index`.

Only `update_index` is left here, for `eureka.app` (on another branch) until it imports it
from `eureka.views.index`; delete this module then.
"""

from eureka.views.index import update_index

__all__ = ["update_index"]
