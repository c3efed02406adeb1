"""Check a zip archive (an .xlsx is one) from its directory before anything unpacks it.

A small upload can unpack to gigabytes: a 208 KB spreadsheet held one 200 MB cell. The zip's
central directory declares every member's unpacked size, and Python's zipfile never unpacks a
member past its declared size (a lie ends in a CRC error), so checking the declared sizes,
the member count and each member's compression ratio bounds what parsing can cost. XML
members are refused if they declare entities (a DOCTYPE), which no spreadsheet needs.
"""

from __future__ import annotations

import zipfile
from dataclasses import dataclass
from io import BytesIO

MB = 1024 * 1024


class ArchiveRefused(ValueError):
    """The archive was refused before unpacking; the message says why and what to do."""


@dataclass(frozen=True)
class ZipLimits:
    max_members: int
    max_member_bytes: int
    max_total_bytes: int
    max_ratio: float
    # Small members may compress very well (an empty sheet's styles) and cost nothing.
    ratio_applies_above: int = MB


def _mb(size: int) -> str:
    return f"{size / MB:.0f} MB" if size >= 10 * MB else f"{size / MB:.1f} MB"


def check_zip(data: bytes, limits: ZipLimits, *, what: str = "The file") -> zipfile.ZipFile:
    """The opened archive if it is within the limits; ArchiveRefused (or BadZipFile) otherwise."""
    archive = zipfile.ZipFile(BytesIO(data))
    members = archive.infolist()
    if len(members) > limits.max_members:
        raise ArchiveRefused(f"{what} holds {len(members)} parts; at most {limits.max_members} are accepted")
    total = 0
    for member in members:
        if member.file_size > limits.max_member_bytes:
            raise ArchiveRefused(
                f"{what} would unpack {member.filename} to {_mb(member.file_size)}; "
                f"at most {_mb(limits.max_member_bytes)} per part is accepted"
            )
        if member.file_size > limits.ratio_applies_above and \
                member.file_size > limits.max_ratio * max(member.compress_size, 1):
            raise ArchiveRefused(
                f"{what} is packed {member.file_size // max(member.compress_size, 1)} times smaller than its "
                f"content ({member.filename}), which only a deliberately crafted file is"
            )
        total += member.file_size
    if total > limits.max_total_bytes:
        raise ArchiveRefused(f"{what} would unpack to {_mb(total)}; at most {_mb(limits.max_total_bytes)} is accepted")
    for member in members:
        if member.filename.endswith((".xml", ".rels", ".vml")):
            with archive.open(member) as opened:
                start = opened.read(4096)
            if b"<!DOCTYPE" in start or b"<!ENTITY" in start:
                raise ArchiveRefused(f"{what} declares XML entities in {member.filename}, which spreadsheets never do")
    return archive
