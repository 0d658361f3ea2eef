"""asv time_ benchmarks of the maintenance workloads (defined in workloads.py)."""
from .suites import define_times

define_times(globals(), "maintenance")
