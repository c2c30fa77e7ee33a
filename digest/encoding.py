"""Which Unicode encoding a source's bytes are in, when a byte-order mark says so: Windows
tools save "Unicode" text as UTF-16 with one, and XML and JSON may be UTF-16 or UTF-32."""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass

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


@dataclass(frozen=True)
class Utf8Text:
    """Text read as UTF-8; `stray_line`: the first line of a few bytes that are not UTF-8 and
    were read as Windows-1252 (None when there are none)."""

    text: str
    stray_line: int | None = None
    stray_byte: int = 0

    @property
    def stray_problem(self) -> str:
        return f"not UTF-8 text (byte 0x{self.stray_byte:02x}): read as Windows-1252"


_STRAY = re.compile("[\udc80-\udcff]")


def utf8_with_strays(data: bytes) -> Utf8Text | None:
    """`data` as UTF-8, a few stray bytes in it (a Windows-1252 quote pasted into one
    paragraph) read as Windows-1252, as the CSV reader reads a line that is not UTF-8. None
    when it is no UTF-8: no well-formed non-ASCII character proves it, or they are fewer than
    the bytes that do not fit (a page in Windows-1251 or -1252 as a whole)."""
    try:
        return Utf8Text(data.decode("utf-8"))
    except UnicodeDecodeError:
        pass
    text = data.decode("utf-8", "surrogateescape")
    strays = _STRAY.findall(text)
    if sum(c > "\x7f" for c in text) - len(strays) <= len(strays):
        return None
    first = _STRAY.search(text)
    assert first is not None
    return Utf8Text(
        _STRAY.sub(lambda m: bytes([ord(m[0]) - 0xDC00]).decode("cp1252", "replace"), text),
        text.count("\n", 0, first.start()) + 1,
        ord(first[0]) - 0xDC00,
    )
