"""Medspa Feedback Bot: patient feedback for aesthetic clinics, over Telegram."""
