"""The team's web app: accounts, roles, blurred review, triage, items, incidents, intake jobs and the REST API.

A front door over the same workspace as the CLI (see docs/ARCHITECTURE.md, section "Web app").
"""
