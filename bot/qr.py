"""QR codes for invitation links, to print or show at the front desk."""

from __future__ import annotations

import io
from pathlib import Path

import segno

# Large modules and a quiet zone scan reliably from paper and from a phone screen.
SCALE = 8
BORDER = 4


def qr_png(link: str) -> bytes:
    """A PNG image of a QR code for `link`."""
    buffer = io.BytesIO()
    segno.make(link, error="m").save(buffer, kind="png", scale=SCALE, border=BORDER)
    return buffer.getvalue()


def write_qr(link: str, path: Path) -> None:
    """Write a QR code for `link`; the file's suffix picks the format (.png or .svg)."""
    segno.make(link, error="m").save(str(path), scale=SCALE, border=BORDER)
