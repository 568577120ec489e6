"""End-to-end speed benchmark: the real stack on this machine, against its own ceilings.

Run with ``make bench-e2e`` (``python -m bench``); ``--quick`` for a short smoke run.
Findings and how to read the table are in docs/performance.md.
"""
