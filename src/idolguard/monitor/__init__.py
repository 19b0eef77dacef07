"""Scheduled monitoring of watched sources: pages, feeds, channels, Telegram previews and account pages."""
