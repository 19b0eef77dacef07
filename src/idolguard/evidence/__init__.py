"""Evidence preservation: content-addressed vault, signed hash-chained custody ledger, verification."""
