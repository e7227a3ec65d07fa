"""The database's key file (`FEEDBACK_DB_KEY_FILE`): read, checked, or made new.

32 random bytes written as 64 hex digits, in a file only the bot's user may read. The key
is never put in the environment, a log or an error message.
"""

from __future__ import annotations

import os
import re
import secrets
import stat
from pathlib import Path

_KEY = re.compile(r"^[0-9a-fA-F]{64}$")


class KeyFileError(ValueError):
    """The key file is missing, readable by others, or not a key (said without the key)."""


def read_key(path: Path) -> str:
    """The key in `path`, checked: the bot's user's alone, and 64 hex digits."""
    try:
        info = path.stat()
        content = path.read_text("ascii").strip()
    except FileNotFoundError:
        raise KeyFileError(
            f"{path} does not exist (feedback-bot encrypt-db writes a new key there)"
        ) from None
    except (OSError, UnicodeDecodeError) as error:
        reason = error.strerror if isinstance(error, OSError) else "not text"
        raise KeyFileError(f"cannot read {path}: {reason}") from None
    if info.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise KeyFileError(f"{path} may be read by others: chmod 600 {path}")
    if not _KEY.match(content):
        raise KeyFileError(f"{path} does not hold a key: 64 hex digits (openssl rand -hex 32)")
    return content.lower()


def new_key_file(path: Path) -> str:
    """Write a new random key to `path` (which must not exist), readable by its owner only."""
    key = secrets.token_hex(32)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w", encoding="ascii") as file:
        file.write(key + "\n")
        file.flush()
        os.fsync(file.fileno())
    return key
