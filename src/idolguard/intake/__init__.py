"""Intake: turn submitted files, folders and archives into evidence items with sightings and custody events."""
