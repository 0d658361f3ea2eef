"""asv time_ benchmarks of the defaults workloads (defined in workloads.py)."""
from .suites import define_times

define_times(globals(), "defaults")
