"""vCards <-> the person values the contacts flow syncs (pure: text in, values out, and back).

``vobject`` does the vCard syntax (line folding, escaping, parameters, structured N/ADR/ORG values, 3.0 and
4.0 input); this module decides what a card means for Salesforce. Person values use neutral names (``Org``,
``Street``...) that the flow maps to Contact or Lead fields. Writing a card back edits the existing card in
place, so properties the hub does not sync (photos, birthdays, other numbers, X- properties) survive."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime

import vobject
from vobject.base import Component, ContentLine, ParseError, VObjectError
from vobject.vcard import Address, Name

#: The values a card and a Salesforce record share, in a fixed order.
PERSON_FIELDS = (
    "FirstName",
    "LastName",
    "Email",
    "Phone",
    "MobilePhone",
    "Title",
    "Department",
    "Org",
    "Street",
    "City",
    "State",
    "PostalCode",
    "Country",
    "Description",
)
Values = dict[str, str | None]


class VCardError(ValueError):
    """A card the flow cannot use; the message says what is wrong with it."""


@dataclass
class ParsedCard:
    uid: str
    values: Values
    categories: list[str] = field(default_factory=list)
    revision: datetime | None = None

    def has_category(self, category: str) -> bool:
        wanted = category.strip().lower()
        return any(item.strip().lower() == wanted for item in self.categories)


def read_card(text: str) -> ParsedCard:
    """The UID, person values, categories and REV of a vCard; VCardError when it cannot be read or has no
    UID or name."""
    card = _parse(text)
    uid = _text(card, "uid")
    if not uid:
        raise VCardError("the card has no UID")
    values = card_values(card)
    if not values.get("LastName"):
        raise VCardError(f"card {uid}: no name (N, FN, ORG or EMAIL) to use as a last name")
    return ParsedCard(uid, values, _categories(card), _revision(card))


def card_values(card: Component) -> Values:
    first, last = _names(card)
    org_parts = _org(card)
    email = _preferred(card, "email")
    phones = _phones(card)
    address = _address(card)
    values: Values = {
        "FirstName": first,
        "LastName": last or (org_parts[0] if org_parts else None) or (email.split("@")[0] if email else None),
        "Email": email.lower() if email else None,
        "Phone": phones.get("work"),
        "MobilePhone": phones.get("cell"),
        "Title": _text(card, "title"),
        "Department": org_parts[1] if len(org_parts) > 1 else None,
        "Org": org_parts[0] if org_parts else None,
        "Street": address.get("street"),
        "City": address.get("city"),
        "State": address.get("region"),
        "PostalCode": address.get("code"),
        "Country": address.get("country"),
        "Description": _text(card, "note"),
    }
    return normalise(values)


def normalise(values: Mapping[str, object]) -> Values:
    """Every person field, stripped, empty as None, line ends as ``\\n`` (so that both sides hash alike)."""
    result: Values = {}
    for name in PERSON_FIELDS:
        value = values.get(name)
        text = None if value is None else str(value).replace("\r\n", "\n").strip()
        result[name] = text or None
    return result


def values_hash(values: Mapping[str, object]) -> str:
    return hashlib.sha256(json.dumps(normalise(values), sort_keys=True).encode()).hexdigest()


def write_card(
    values: Mapping[str, object], uid: str, existing: str | None = None, categories: list[str] | None = None
) -> str:
    """A vCard 3.0 text with ``values``: the existing card edited in place, or a new one.

    Empty values remove the property the hub manages (only that one: the second e-mail stays). ``categories``
    replaces CATEGORIES when given.
    """
    card = _parse(existing) if existing else vobject.vCard()
    if not existing:
        card.add("version").value = "3.0"
        card.add("uid").value = uid
    values = normalise(values)
    first, last = values["FirstName"] or "", values["LastName"] or ""
    _set_single(card, "n", Name(family=last, given=first))
    _set_single(card, "fn", " ".join(part for part in (first, last) if part) or values["Org"] or uid)
    _set_preferred(card, "email", values["Email"], "INTERNET")
    _set_phone(card, "work", values["Phone"])
    _set_phone(card, "cell", values["MobilePhone"])
    _set_single(card, "title", values["Title"])
    org = [part for part in (values["Org"], values["Department"]) if part]
    _set_single(card, "org", org if org else None)
    _set_address(card, values)
    _set_single(card, "note", values["Description"])
    if categories is not None:
        _set_single(card, "categories", categories or None)
    _set_single(card, "rev", datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"))
    return card.serialize()


# -- reading ------------------------------------------------------------------------------------------------
def _parse(text: str) -> Component:
    try:
        card = vobject.readOne(text)
    except (ParseError, VObjectError, ValueError, TypeError, IndexError, AttributeError) as error:
        raise VCardError(f"not a readable vCard: {error}") from None
    if getattr(card, "name", "").upper() != "VCARD":
        raise VCardError(f"not a vCard but a {getattr(card, 'name', 'unknown object')}")
    return card


def _lines(card: Component, name: str) -> list[ContentLine]:
    return list(card.contents.get(name, []))


def _text(card: Component, name: str) -> str | None:
    lines = _lines(card, name)
    if not lines:
        return None
    value = lines[0].value
    if isinstance(value, list):
        value = ",".join(str(item) for item in value)
    return str(value).strip() or None


def _names(card: Component) -> tuple[str | None, str | None]:
    lines = _lines(card, "n")
    if lines and isinstance(lines[0].value, Name):
        name = lines[0].value
        given = _join(name.given)
        family = _join(name.family)
        if given or family:
            return given, family
    full = _text(card, "fn")
    if not full:
        return None, None
    first, _, last = full.rpartition(" ")
    return (first or None), last


def _join(part: object) -> str | None:
    if isinstance(part, list):
        part = " ".join(str(item) for item in part if item)
    text = str(part or "").strip()
    return text or None


def _org(card: Component) -> list[str]:
    lines = _lines(card, "org")
    if not lines:
        return []
    value = lines[0].value
    parts = value if isinstance(value, list) else [value]
    return [str(part).strip() for part in parts if str(part).strip()]


def _types(line: ContentLine) -> set[str]:
    found: set[str] = set()
    for item in line.params.get("TYPE", []):
        found.update(part.strip().lower() for part in str(item).split(","))
    return found


def _preferred(card: Component, name: str) -> str | None:
    lines = _lines(card, name)
    if not lines:
        return None
    preferred = [line for line in lines if "pref" in _types(line) or "PREF" in line.params]
    value = str((preferred or lines)[0].value).strip()
    return value or None


def _phones(card: Component) -> dict[str, str]:
    found: dict[str, str] = {}
    for line in _lines(card, "tel"):
        kinds = _types(line)
        kind = "cell" if "cell" in kinds else ("work" if "fax" not in kinds and "home" not in kinds else None)
        value = str(line.value).strip()
        if kind and value and kind not in found:
            found[kind] = value
    if "work" not in found:  # a single untyped or home number is still the person's phone
        for line in _lines(card, "tel"):
            if "cell" not in _types(line) and "fax" not in _types(line) and str(line.value).strip():
                found["work"] = str(line.value).strip()
                break
    return found


def _address(card: Component) -> dict[str, str | None]:
    lines = _lines(card, "adr")
    if not lines:
        return {}
    chosen = next((line for line in lines if "work" in _types(line)), lines[0])
    value = chosen.value
    if not isinstance(value, Address):
        return {}

    def part(item: object) -> str | None:
        return _join(item) if not isinstance(item, list) else "\n".join(str(x) for x in item if x) or None

    return {
        "street": part(value.street),
        "city": part(value.city),
        "region": part(value.region),
        "code": part(value.code),
        "country": part(value.country),
    }


def _categories(card: Component) -> list[str]:
    found: list[str] = []
    for line in _lines(card, "categories"):
        value = line.value
        items = value if isinstance(value, list) else str(value).split(",")
        found.extend(str(item).strip() for item in items if str(item).strip())
    return found


def _revision(card: Component) -> datetime | None:
    text = _text(card, "rev")
    if not text:
        return None
    for pattern in ("%Y%m%dT%H%M%SZ", "%Y-%m-%dT%H:%M:%SZ", "%Y-%m-%dT%H:%M:%S%z", "%Y%m%dT%H%M%S%z"):
        try:
            parsed = datetime.strptime(text, pattern)
        except ValueError:
            continue
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    return None


# -- writing ------------------------------------------------------------------------------------------------
def _set_single(card: Component, name: str, value: object) -> None:
    for line in _lines(card, name):
        card.remove(line)
    if value is None or value == "":
        return
    card.add(name).value = value


def _set_preferred(card: Component, name: str, value: str | None, kind: str) -> None:
    """Replace the preferred (else the first) value of a repeated property; drop it when ``value`` is
    empty."""
    lines = _lines(card, name)
    preferred = [line for line in lines if "pref" in _types(line)]
    target = (preferred or lines or [None])[0]
    if target is None:
        if value:
            line = card.add(name)
            line.value = value
            line.type_param = kind
        return
    if value:
        target.value = value
    else:
        card.remove(target)


def _set_phone(card: Component, kind: str, value: str | None) -> None:
    lines = [
        line
        for line in _lines(card, "tel")
        if (kind == "cell") == ("cell" in _types(line))
        and "fax" not in _types(line)
        and (kind == "cell" or "home" not in _types(line))
    ]
    if lines:
        if value:
            lines[0].value = value
        else:
            card.remove(lines[0])
    elif value:
        line = card.add("tel")
        line.value = value
        line.type_param = "CELL" if kind == "cell" else "WORK"


def _set_address(card: Component, values: Values) -> None:
    parts = {
        key: values[source] or ""
        for key, source in (
            ("street", "Street"),
            ("city", "City"),
            ("region", "State"),
            ("code", "PostalCode"),
            ("country", "Country"),
        )
    }
    lines = _lines(card, "adr")
    target = next((line for line in lines if "work" in _types(line)), lines[0] if lines else None)
    if not any(parts.values()):
        if target is not None:
            card.remove(target)
        return
    if target is None:
        target = card.add("adr")
        target.type_param = "WORK"
    target.value = Address(**parts)
