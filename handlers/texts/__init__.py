"""Every word the bot says, one catalogue per language."""

from handlers.texts.catalogue import Texts
from handlers.texts.en import ENGLISH
from handlers.texts.es import SPANISH

CATALOGUES: dict[str, Texts] = {"en": ENGLISH, "es": SPANISH}
"""The languages the bot speaks, by ISO 639-1 code."""

__all__ = ["CATALOGUES", "ENGLISH", "SPANISH", "Texts"]
