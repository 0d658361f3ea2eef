"""asv time_ benchmarks of the reads workloads (defined in workloads.py)."""
from .suites import define_times

define_times(globals(), "reads")
