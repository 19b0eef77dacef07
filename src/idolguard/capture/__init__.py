"""Evidence-grade URL capture: SSRF-safe fetching, media extraction, web archives, rendering, trusted time.

A capture preserves a reported link the way a careful investigator would (Berkeley Protocol): the original
bytes as served, the context (redirects, headers, server IP, TLS chain, post metadata), a rendering
(screenshot + PDF), a WARC/WACZ web archive, a manifest hashing all of it, and an RFC 3161 timestamp of the
manifest. Every step is a custody-ledger event; media found on the page become ordinary evidence items.
"""
