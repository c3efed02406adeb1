"""Check a zip archive (an .xlsx is one) from its directory before anything unpacks it.

A small upload can unpack to gigabytes: a 208 KB spreadsheet held one 200 MB cell. The zip's
central directory declares every member's unpacked size, and Python's zipfile never unpacks a
member past its declared size (a lie ends in a CRC error), so checking the declared sizes,
the member count and each member's compression ratio bounds what parsing can cost.

Every member that is XML is refused if it declares anything before its root element (a
DOCTYPE, where entities are declared), however long the comments before it, and if it is not
UTF-8 (a UTF-16 DOCTYPE would hide from a byte search). No spreadsheet needs either.
"""

from __future__ import annotations

import zipfile
from dataclasses import dataclass
from io import BytesIO

from attentive.refusals import Refused

MB = 1024 * 1024


class ArchiveRefused(Refused, ValueError):
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
        with archive.open(member) as opened:
            found = xml_prologue(opened)
        if found == "declaration":
            raise ArchiveRefused(f"{what} declares XML entities in {member.filename}, which spreadsheets never do")
        if found == "not-utf8":
            raise ArchiveRefused(f"{what} holds {member.filename} in an encoding other than UTF-8, "
                                 "which spreadsheets never use")
    return archive


CHUNK = 64 * 1024
# UTF-16 and UTF-32, with or without a byte-order mark, as an XML parser recognises them.
WIDE_STARTS = (b"\xff\xfe", b"\xfe\xff", b"\x00\x00\xfe\xff", b"\x00<\x00?", b"<\x00?\x00", b"\x00\x00\x00<",
               b"<\x00\x00\x00", b"\x00<\x00!", b"<\x00!\x00")


def xml_prologue(stream) -> str:
    """What comes before the root element, read only as far as that: 'root' (nothing but the XML
    declaration, comments and processing instructions), 'declaration' (a DOCTYPE or any other
    <!...> declaration), 'not-utf8' (a wide encoding), 'not-xml' (not XML at all, an image say)."""
    data, position, ended = b"", 0, False

    def need(count: int) -> bool:
        """At least `count` bytes from position on, reading more if needed; False at the end."""
        nonlocal data, position, ended
        while len(data) - position < count and not ended:
            chunk = stream.read(CHUNK)
            ended = not chunk
            data, position = data[position:] + chunk, 0
        return len(data) - position >= count

    def skip_past(terminator: bytes) -> bool:
        nonlocal position
        while True:
            found = data.find(terminator, position)
            if found >= 0:
                position = found + len(terminator)
                return True
            keep = max(position, len(data) - len(terminator))
            position = keep
            if not need(len(data) - keep + 1):
                return False

    need(4)
    if data.startswith(WIDE_STARTS):
        return "not-utf8"
    if data.startswith(b"\xef\xbb\xbf"):
        position = 3
    while True:
        while need(1) and data[position:position + 1] in (b" ", b"\t", b"\r", b"\n"):
            position += 1
        if not need(2) or data[position:position + 1] != b"<":
            return "not-xml"
        need(4)
        if data.startswith(b"<?", position):
            if not skip_past(b"?>"):
                return "not-xml"
        elif data.startswith(b"<!--", position):
            if not skip_past(b"-->"):
                return "not-xml"
        elif data.startswith(b"<!", position):
            return "declaration"
        else:
            return "root"
