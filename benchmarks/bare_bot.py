"""The reference for `survey_load.py`: a bare python-telegram-bot bot, no database.

It walks a patient through the same messages as the real bot's default survey (consent,
treatment, two rated questions, a comment, thanks) and makes the same Bot API calls per
step: a tap edits the message, sends the next question and answers the tap; typed text
gets the thanks. It keeps where each patient is in memory, handles updates concurrently
(python-telegram-bot's `concurrent_updates(True)`) and polls with the stock Updater. What
it lacks is everything the real bot is for: storage, ordering per patient, alerts.

    FEEDBACK_BOT_TOKEN=... FEEDBACK_API_URL=... python benchmarks/bare_bot.py
"""

from __future__ import annotations

import os

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import (
    ApplicationBuilder,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

STEPS = (
    ("Nothing is stored until you tap “I agree”.", ("I agree",)),
    ("Which treatment did you have?", ("Botox / neuromodulator", "Dermal filler")),
    ("Question 1 of 3\n\nHow satisfied are you?", tuple(f"{n}" for n in range(5, 0, -1))),
    ("Question 2 of 3\n\nHow likely are you to recommend us?", tuple(map(str, range(11)))),
    ("Question 3 of 3\n\nAnything else?", ("Skip",)),
)
THANKS = "Thank you! Your feedback has been saved."


def keyboard(step: int) -> InlineKeyboardMarkup:
    """The step's buttons, each carrying the step and the value."""
    _, labels = STEPS[step]
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(label, callback_data=f"{step}:{label}")] for label in labels]
    )


async def start(update: Update, _: ContextTypes.DEFAULT_TYPE) -> None:
    """The consent message."""
    if update.effective_chat is not None:
        await update.effective_chat.send_message(STEPS[0][0], reply_markup=keyboard(0))


async def tap(update: Update, _: ContextTypes.DEFAULT_TYPE) -> None:
    """Show the answer, send the next question, answer the tap."""
    query = update.callback_query
    if query is None or query.data is None or update.effective_chat is None:
        return
    step = int(query.data.split(":", 1)[0])
    await query.edit_message_text(f"{STEPS[step][0]}\n\n✓ {query.data.split(':', 1)[1]}")
    following = step + 1
    await update.effective_chat.send_message(STEPS[following][0], reply_markup=keyboard(following))
    await query.answer()


async def comment(update: Update, _: ContextTypes.DEFAULT_TYPE) -> None:
    """The thanks."""
    if update.effective_chat is not None:
        await update.effective_chat.send_message(THANKS)


def main() -> None:
    """Poll until interrupted."""
    api_url = os.environ["FEEDBACK_API_URL"]
    application = (
        ApplicationBuilder()
        .token(os.environ["FEEDBACK_BOT_TOKEN"])
        .base_url(api_url)
        .base_file_url(api_url.replace("/bot", "/file/bot", 1))
        .concurrent_updates(True)  # noqa: FBT003 - PTB's builder takes a bare bool
        .build()
    )
    application.add_handler(CommandHandler("start", start))
    application.add_handler(CallbackQueryHandler(tap))
    application.add_handler(MessageHandler(filters.TEXT & ~filters.COMMAND, comment))
    application.run_polling(poll_interval=0, timeout=10)


if __name__ == "__main__":
    main()
