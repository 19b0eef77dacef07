"""Cases: turn incidents, items, sightings, captures and accounts into a matter counsel can file.

Every change to a case is a custody event (``case.*`` actions, docs/EVIDENCE.md), the court-ready report and
the offline-verifiable evidence package are built from it, and retention ends with a destruction that keeps
hashes and the ledger but erases the media, approved by two different people.
"""
