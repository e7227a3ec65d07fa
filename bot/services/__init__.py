"""Services: the use cases of the bot, written against Protocols, not Telegram or SQL."""
