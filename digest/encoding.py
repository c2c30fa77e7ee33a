"""Which Unicode encoding a source's bytes are in, when a byte-order mark says so: Windows
tools save "Unicode" text as UTF-16 with one, and XML and JSON may be UTF-16 or UTF-32."""

from __future__ import annotations

import codecs

# UTF-32's marks first: UTF-32-LE's starts with UTF-16-LE's.
_MARKS = (
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)


def marked_encoding(data: bytes) -> tuple[str, int] | None:
    """(encoding, length of its mark) when `data` opens with a byte-order mark."""
    for mark, encoding in _MARKS:
        if data.startswith(mark):
            return encoding, len(mark)
    return None


def opening(data: bytes, size: int = 4096) -> bytes:
    """The first characters of `data` as UTF-8 (about `size` bytes' worth), without the
    byte-order mark and the white space after it: what the readers tell a source's kind by."""
    encoding, skip = marked_encoding(data) or ("utf-8", 0)
    start = data[skip : skip + size]
    if encoding != "utf-8":
        start = start.decode(encoding, errors="ignore").encode()
    return start.lstrip(b" \t\r\n")
