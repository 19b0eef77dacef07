"""The public link-report portal: a separate ASGI app (links only, four languages) and its intake queue."""
