"""Reports for people: self-contained HTML that counsel can open, print and hand over."""
