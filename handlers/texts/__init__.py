"""Every word the bot says, one catalogue per language."""

from handlers.texts.en import ENGLISH, Texts

__all__ = ["ENGLISH", "Texts"]
