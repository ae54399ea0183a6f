"""Use cases every face (CLI, HTTP, tests, benchmarks) calls: typed, no rendering."""
