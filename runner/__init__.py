"""The embedded runner: the whole system on one machine with no external servers."""
