"""asv time_ benchmarks of the columnar workloads (defined in workloads.py)."""
from .suites import define_times

define_times(globals(), "columnar")
