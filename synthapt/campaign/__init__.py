"""Validation campaigns: case, suite, Dask run, SLURM cluster, results aggregation."""
