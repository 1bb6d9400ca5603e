"""Salesforce record ids: 15 case-sensitive characters plus a 3-character case checksum.

The suffix encodes, for each 5-character chunk of the 15-character id, which characters are upper case; it is
what lets case-insensitive tools tell ``001...a`` from ``001...A``. We always answer 18 characters and accept 15
or 18 on input.
"""

from __future__ import annotations

import re

_SUFFIX_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"
_BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_ID_RE = re.compile(r"^[a-zA-Z0-9]{15}(?:[A-Z0-5]{3})?$")
#: Two characters Salesforce uses for the pod/instance; constant for the sandbox.
INSTANCE_PART = "8d"


def checksum_suffix(id15: str) -> str:
    """The 3-character suffix for a 15-character id."""
    suffix = ""
    for chunk_start in (0, 5, 10):
        bits = 0
        for offset, char in enumerate(id15[chunk_start : chunk_start + 5]):
            if "A" <= char <= "Z":
                bits |= 1 << offset
        suffix += _SUFFIX_ALPHABET[bits]
    return suffix


def to_18(record_id: str) -> str:
    """Normalise a 15- or 18-character id to 18; raises ValueError for anything else.

    An 18-character id whose suffix does not match its first 15 characters is refused, as Salesforce does.
    """
    if not isinstance(record_id, str) or not _ID_RE.match(record_id):
        raise ValueError(f"invalid Salesforce id: {record_id!r}")
    expected = checksum_suffix(record_id[:15])
    if len(record_id) == 18 and record_id[15:] != expected:
        raise ValueError(f"invalid Salesforce id (checksum): {record_id!r}")
    return record_id[:15] + expected


def is_valid_id(record_id: object) -> bool:
    try:
        to_18(record_id)  # type: ignore[arg-type]
    except ValueError:
        return False
    return True


def make_id(key_prefix: str, sequence: int) -> str:
    """The 18-character id of the ``sequence``-th record with this key prefix.

    Sequential ids keep ``ORDER BY Id`` in creation order, as on a real org.
    """
    if len(key_prefix) != 3:
        raise ValueError(f"key prefix must be 3 characters: {key_prefix!r}")
    digits = ""
    value = sequence
    for _ in range(10):
        value, remainder = divmod(value, 62)
        digits = _BASE62[remainder] + digits
    if value:
        raise ValueError("id sequence exhausted")
    return to_18(key_prefix + INSTANCE_PART + digits)


def key_prefix(record_id: str) -> str:
    return record_id[:3]
