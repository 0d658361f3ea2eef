"""asv ``track_`` benchmarks: each backend's speed relative to capi, per workload.

``ratios.track_<workload>`` with parameter ``backend`` in (cython, cffi)
returns ``capi time / backend time`` measured alternating in one process
(see suites.py).  Higher is better; 1.0 is capi's speed.
"""
from .suites import define_ratios

define_ratios(globals())
