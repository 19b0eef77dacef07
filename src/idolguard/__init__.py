"""IdolGuard: find, identify, score, preserve and act on sexual deepfakes of protected artists."""

__version__ = "0.1.0"
