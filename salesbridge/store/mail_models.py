"""What the mail and contacts flows remember between runs (tables on the hub's metadata, see ``models``).

- ``sb_mail_messages``: every message saved as a Salesforce Task, by its Message-ID, so that a message moved
  back and forth, tagged twice, or seen again after a restart is never saved twice. A row is written as
  ``pending`` (and committed) before its Task is created, then marked ``saved`` with the Task's Id: a crash in
  between leaves a pending row that the next run reconciles against Salesforce instead of creating a second
  Task.
- ``sb_card_links``: a vCard (by UID) and its twin Contact or Lead, with the card's address book, resource
  href and ETag and a hash of what was last synced on each side (echo suppression, as ``sb_links`` does for
  tables). ``sb_links`` has no room for an href and an ETag, hence a table of its own.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Boolean, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from salesbridge.store.models import Base, IdType, UtcDateTime, utcnow


class MessageStatus(StrEnum):
    PENDING = "pending"
    SAVED = "saved"


class MailMessage(Base):
    """One message shared with Salesforce; ``message_key`` is its Message-ID (or a digest when it has
    none)."""

    __tablename__ = "sb_mail_messages"

    id: Mapped[int] = mapped_column(IdType, primary_key=True, autoincrement=True)
    message_key: Mapped[str] = mapped_column(String(255), unique=True)
    message_id: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(20), default=MessageStatus.PENDING.value)
    task_id: Mapped[str | None] = mapped_column(String(18))
    who_id: Mapped[str | None] = mapped_column(String(18))
    subject: Mapped[str | None] = mapped_column(Text)
    folder: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)


class CardLink(Base):
    """A vCard and its Contact or Lead. ``deleted`` marks a link that ended (card removed or unshared)."""

    __tablename__ = "sb_card_links"
    __table_args__ = (UniqueConstraint("sf_id"),)

    id: Mapped[int] = mapped_column(IdType, primary_key=True, autoincrement=True)
    uid: Mapped[str] = mapped_column(String(255), unique=True)
    address_book: Mapped[str] = mapped_column(Text)
    href: Mapped[str] = mapped_column(Text)
    etag: Mapped[str | None] = mapped_column(String(255))
    sf_object: Mapped[str] = mapped_column(String(40))
    sf_id: Mapped[str | None] = mapped_column(String(18))
    sf_modstamp: Mapped[str | None] = mapped_column(String(40))
    card_hash: Mapped[str | None] = mapped_column(String(128))
    sf_hash: Mapped[str | None] = mapped_column(String(128))
    deleted: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)
