r"""Cutting a log into blocks of whole lines: what the log engine (logscan) reads.

A block is (lines, text, end): the lines without their "\\n", and the bytes they came from,
`text[:end]`, kept whole so the engine can scan a block at once without another copy.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import IO

from releaseops.service.logline import MAX_LINE_BYTES

BLOCK_BYTES = 1 << 18

Block = tuple[list[bytes], bytes, int]


def iter_blocks(stream: IO[bytes], block_bytes: int = BLOCK_BYTES) -> Iterator[Block]:
    r"""Blocks of whole lines of a binary stream: (lines, text, end).

    The lines' text is `text[:end]` (it is not cut out, to save a copy).

    Lines are split on b"\\n" only; a last line without "\\n" is a line, the empty piece after
    a final "\\n" is not. A line longer than MAX_LINE_BYTES is cut after MAX_LINE_BYTES + 1
    bytes (it is a defect anyway) and the rest skipped, so memory stays bounded.
    """
    limit = MAX_LINE_BYTES
    tail, skipping = b"", False
    while chunk := stream.read(block_bytes):
        if skipping:
            cut = chunk.find(b"\n")
            if cut < 0:
                continue
            yield [tail], tail, len(tail)
            tail, skipping, chunk = b"", False, chunk[cut + 1 :]
        buffer = tail + chunk if tail else chunk
        lines = buffer.split(b"\n")
        tail = lines.pop()
        if lines:
            yield lines, buffer, len(buffer) - len(tail) - 1
        if len(tail) > limit:
            tail, skipping = tail[: limit + 1], True
    if tail:
        yield [tail], tail, len(tail)


def blocks_of(lines: Iterable[bytes], size: int = 4096) -> Iterator[Block]:
    r"""Blocks of `size` lines from an iterable of lines (each without its "\\n")."""
    block: list[bytes] = []
    for raw in lines:
        block.append(raw)
        if len(block) >= size:
            text = b"\n".join(block)
            yield block, text, len(text)
            block = []
    if block:
        text = b"\n".join(block)
        yield block, text, len(text)
