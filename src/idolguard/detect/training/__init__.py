"""Training of the self-blended-image detector.

Needs the optional ``train`` extra: ``pip install -e '.[train]'``.
"""
