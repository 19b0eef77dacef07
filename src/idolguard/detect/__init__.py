"""Manipulation detection: the face-swap detector, its calibration, Content Credentials (see ARCHITECTURE)."""
