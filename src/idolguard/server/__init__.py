"""Composition of the front doors: one process serving the team app and the public portal, and the job
worker that runs the analysts' jobs, reported links and scheduled watches (see docs/ARCHITECTURE.md)."""
