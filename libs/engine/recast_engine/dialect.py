"""How a CSV file was saved: its encoding and its delimiter, detected from its first bytes (pure, deterministic).

Spreadsheet exports come as UTF-8 (with or without BOM), UTF-16 with a BOM, cp1252 or Latin-1, separated by
`,` `;` tab or `|`. The functions below use only the standard library and no module-level names besides `codecs`
and `csv`: the renderer copies their source into every learned script (render/script.py), so a standalone script
reads such files exactly as the gateway does.
"""
from __future__ import annotations

import codecs
import csv


def detect_encoding(head: bytes, complete: bool = True) -> str:
    """The encoding of a file starting with `head`: utf-8-sig (UTF-8 with BOM), utf-16-le / utf-16-be (with BOM),
    utf-8, else cp1252 when it decodes, else latin-1 (decodes anything). complete=False: `head` is only the start
    of the file, and a character cut at its end is not an error."""
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if head.startswith(codecs.BOM_UTF16_LE) and not head.startswith(codecs.BOM_UTF32_LE):
        return "utf-16-le"
    if head.startswith(codecs.BOM_UTF16_BE):
        return "utf-16-be"
    for encoding in ("utf-8", "cp1252"):
        try:
            codecs.getincrementaldecoder(encoding)().decode(head, final=complete)
            return encoding
        except UnicodeDecodeError:
            pass
    return "latin-1"


def text_codec(encoding: str) -> str:
    """The codec that decodes a file of `encoding` (as detect_encoding names it) without its byte order mark."""
    return "utf-16" if encoding in ("utf-16-le", "utf-16-be") else encoding


def detect_delimiter(text: str, complete: bool = True, max_rows: int = 50) -> str:
    """The delimiter among , ; tab | that splits the first rows of `text` into the most consistent field counts.

    A candidate counts only when the first row (the header, if any) has its most common count, above 1: a
    one-column file whose cells hold `;` stays one column. Then "," when it gives every row the same count (a
    comma file with `;` inside its cells stays a comma file); else the one giving every row the same count (the
    most fields on a tie, then that order); else the one giving the most rows that count; else ",".
    complete=False: the last row may be cut."""
    if len(text) > 65536:
        text, complete = text[:65536], False
    best, best_score = ",", (False, False, 0, 0)
    for rank, delimiter in enumerate(",;\t|"):
        counts: list[int] = []
        try:
            for row in csv.reader(text.splitlines(True)[: max_rows + 1], delimiter=delimiter):
                if row:
                    counts.append(len(row))
        except csv.Error:
            continue
        if not complete and len(counts) > 1:
            counts = counts[:-1]
        counts = counts[:max_rows]
        common = max(set(counts), key=lambda n: (counts.count(n), n)) if counts else 1
        if common < 2 or counts[0] != common:
            continue
        consistent = counts.count(common) == len(counts)
        score = (consistent and delimiter == ",", consistent, counts.count(common), common)
        if score > best_score:
            best, best_score = delimiter, score
    return best


def transcode(data: bytes) -> tuple[bytes, str, str]:
    """(`data` as UTF-8 comma-separated CSV, its detected encoding, its detected delimiter). A file already UTF-8
    (BOM or not) and comma-separated comes back unchanged; a file in another dialect is decoded and re-written
    row by row (line ends kept: CRLF when the file has any, else LF)."""
    import io

    encoding = detect_encoding(data)
    text = data.decode(text_codec(encoding))
    delimiter = detect_delimiter(text)
    if encoding in ("utf-8", "utf-8-sig") and delimiter == ",":
        return data, encoding, delimiter
    if delimiter == ",":
        return text.encode("utf-8"), encoding, delimiter
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\r\n" if "\r\n" in text else "\n")
    writer.writerows(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))
    return out.getvalue().encode("utf-8"), encoding, delimiter
