"""Thin adapters between Telegram updates and the services."""
