"""Benchmarks of the Hudoor services (run them with `python -m bench.<name>`)."""
