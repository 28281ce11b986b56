"""Splitting a CSV file on record boundaries into chunks that a row-local program converts apart.

A newline ends a record unless it is inside a quoted field. With RFC 4180 quoting (a quote inside a field is
doubled) that is so exactly when an even number of quote characters comes before it, so a boundary near any
offset is found from the count of quotes before that offset (one `bytes.count` pass) and a short walk. A file
whose quotes do not pair up (a stray quote in an unquoted cell) is not split.

Each chunk is converted as a file of its own: `prefix + data[start:end]` for every chunk but the first, where
the prefix is the file's BOM and, when the program treats the first record apart (recast_engine.dsl.locality),
that record. A learned script decides the encoding and delimiter from the first MiB of its input (render/script),
so a plan is only made when every chunk's first MiB decides as the whole file's does.

`data` is anything sliceable with `find`, `count` and `len` over bytes: bytes, or an mmap of a large file.
"""
from __future__ import annotations

import codecs
from dataclasses import dataclass
from typing import Protocol

from recast_engine.dialect import detect_delimiter, detect_encoding, text_codec

QUOTE = b'"'
NEWLINE = b"\n"
SNIFFED_BYTES = 1 << 20  # what a learned script reads to decide the encoding and delimiter
BLOCK = 8 << 20
SPLITTABLE_ENCODINGS = ("utf-8", "utf-8-sig", "cp1252", "latin-1")  # a quote or newline byte is that character


class Bytes(Protocol):
    def __len__(self) -> int: ...

    def __getitem__(self, index: slice, /) -> bytes: ...

    def find(self, sub: bytes, start: int = ..., end: int = ..., /) -> int: ...


class Unsplittable(ValueError):
    """The file cannot be split so that its chunks convert as the whole does (the message says why)."""


@dataclass(frozen=True)
class Chunk:
    index: int
    start: int
    end: int


@dataclass(frozen=True)
class ChunkPlan:
    prefix_end: int  # data[:prefix_end] goes in front of every chunk but the first
    chunks: list[Chunk]
    encoding: str
    delimiter: str


def plan_chunks(data: Bytes, chunk_bytes: int, first_record: bool) -> ChunkPlan:
    """Chunks of about `chunk_bytes` each (each ends at the first record end past that size).

    `first_record`: every chunk but the first gets the file's first record (a header) in front of it.
    Raises Unsplittable when the file's chunks would not read as the whole file does."""
    if chunk_bytes <= 0:
        raise ValueError("chunk_bytes must be positive")
    size = len(data)
    encoding, delimiter = _reading(data[: SNIFFED_BYTES + 1])
    if encoding not in SPLITTABLE_ENCODINGS:
        raise Unsplittable(f"{encoding} text cannot be split on its bytes")
    if count_quotes(data, 0, size) % 2:
        raise Unsplittable("its quotes do not pair up")
    prefix_end = len(codecs.BOM_UTF8) if encoding == "utf-8-sig" else 0
    if first_record:
        prefix_end = record_end(data, prefix_end)
    cuts = [0]
    cut = prefix_end
    while cut + chunk_bytes < size:
        target = cut + chunk_bytes
        cut = record_end(data, target, in_quotes=count_quotes(data, cut, target) % 2 == 1)
        if cut >= size:
            break
        cuts.append(cut)
    ends = cuts[1:] + [size]
    chunks = [Chunk(i, start, end) for i, (start, end) in enumerate(zip(cuts, ends))]
    prefix = data[:prefix_end]
    for chunk in chunks[1:]:
        head = (prefix + data[chunk.start : min(chunk.end, chunk.start + SNIFFED_BYTES + 1)])[: SNIFFED_BYTES + 1]
        if _reading(head) != (encoding, delimiter):
            raise Unsplittable(f"chunk {chunk.index + 1} would be read as {_reading(head)}, "
                               f"the whole file as {(encoding, delimiter)}")
    return ChunkPlan(prefix_end, chunks, encoding, delimiter)


def _reading(head: bytes) -> tuple[str, str]:
    """The encoding and delimiter a learned script decides on for a file starting with `head` (its first MiB
    and one byte more, which tells whether the file ends there)."""
    complete = len(head) <= SNIFFED_BYTES
    head = head[:SNIFFED_BYTES]
    encoding = detect_encoding(head, complete)
    return encoding, detect_delimiter(head.decode(text_codec(encoding), "ignore"), complete)


def count_quotes(data: Bytes, start: int, end: int) -> int:
    count = 0
    for offset in range(start, end, BLOCK):
        count += data[offset : min(offset + BLOCK, end)].count(QUOTE)
    return count


def record_end(data: Bytes, position: int, in_quotes: bool = False) -> int:
    """The offset just past the first record terminator at or after `position` (len(data) when none is left);
    `in_quotes`: `position` is inside a quoted field."""
    size = len(data)
    while position < size:
        if in_quotes:
            quote = data.find(QUOTE, position)
            if quote < 0:
                return size
            in_quotes, position = False, quote + 1
            continue
        newline = data.find(NEWLINE, position)
        if newline < 0:
            return size
        quote = data.find(QUOTE, position, newline)
        if quote < 0:
            return newline + 1
        in_quotes, position = True, quote + 1
    return size


def count_records(data: Bytes, start: int = 0) -> int:
    """How many CSV records `data[start:]` holds (a last record without its newline counts); `start` is a record
    boundary."""
    size = len(data)
    records, in_quotes = 0, False
    for offset in range(start, size, BLOCK):
        pieces = data[offset : min(offset + BLOCK, size)].split(QUOTE)
        for i, piece in enumerate(pieces):
            if (i % 2 == 1) != in_quotes:
                continue
            records += piece.count(NEWLINE)
        in_quotes ^= (len(pieces) - 1) % 2 == 1
    if size > start and data[size - 1 : size] != NEWLINE:
        records += 1
    return records
