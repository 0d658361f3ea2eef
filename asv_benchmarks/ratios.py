"""asv ``track_`` benchmarks: each backend's time relative to capi, per workload.

``ratios.track_<workload>`` with parameter ``backend`` in (cython, cffi)
returns ``backend time / capi time`` measured alternating in one process
(see suites.py).  Lower is better; 1.0 is capi's speed, 2.0 twice as slow.
"""
from .suites import define_ratios

define_ratios(globals())
