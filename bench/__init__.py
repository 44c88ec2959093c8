"""Benchmark suite (issue 6): build throughput, incremental rebuild, latency, concurrency,
memory and start-up, and quality. Run one with `python -m bench.<name> --help`, or all of them
with `python -m bench.run_all` (`make bench`), which also regenerates `bench/RESULTS.md`."""
