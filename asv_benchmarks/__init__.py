"""asv benchmarks of Timelog, one module per area, every one run per backend."""
