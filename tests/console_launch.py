"""Launch data as Telegram's clients pass a Mini App, signed as Telegram documents it.

Written here from Telegram's description, apart from the bot's own check, so that a test of
the check does not sign with the code it checks.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import datetime
from urllib.parse import urlencode


def signed_launch(
    bot_token: str, user: dict[str, object], signed_at: datetime, **extra: str
) -> str:
    """`initData` for `user`, signed at `signed_at` with the key derived from `bot_token`."""
    fields = {
        "auth_date": str(int(signed_at.timestamp())),
        "query_id": "AAHdF6IQAAAAAN0XohDhrOrc",
        "user": json.dumps(user, separators=(",", ":"), ensure_ascii=False),
        **extra,
    }
    data_check_string = "\n".join(f"{key}={fields[key]}" for key in sorted(fields))
    secret_key = hmac.new(
        key=b"WebAppData", msg=bot_token.encode(), digestmod=hashlib.sha256
    ).digest()
    fields["hash"] = hmac.new(
        key=secret_key, msg=data_check_string.encode(), digestmod=hashlib.sha256
    ).hexdigest()
    return urlencode(fields)
