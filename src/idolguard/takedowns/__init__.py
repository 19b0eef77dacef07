"""Takedowns: notices to platforms, search engines and Korean bodies, with their required elements checked,
sent (SMTP) or marked sent, and tracked to removal. Notices describe the content and never attach it."""
