"""Benchmarks (`make bench`). Each one measures voicebridge against a baseline measured
in the same run on the same machine, and reports the ratio."""
