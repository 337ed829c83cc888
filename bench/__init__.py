"""Benchmarks that train nothing: serving speed and soak, grounding, transcript scoring and retrieval.
Each module's `main(argv)` is a `shopguide bench ...` command; results go to `docs/bench_*.md`.
Benchmarks that train (`dann`, `needs-dann`, `train`, `transfer`) live in `training/bench/`."""
