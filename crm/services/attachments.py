"""Photos and signatures from the field: checked, content-addressed, on disk.

The declared content type of an upload is a claim by the client; the first
bytes are evidence. Only JPEG, PNG and WebP are kept, recognised by their
magic bytes, so an HTML page or an executable renamed ``photo.jpg`` never
lands under ``var/uploads``. Files are named by their SHA-256, which makes a
resent upload land on the same file and the same row.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from sqlmodel import Session, col, func, select

from crm.errors import DomainError, InvalidInput
from crm.models import Attachment, Ticket, TicketStatus
from crm.schemas.mobile import AttachmentPublic
from crm.services.common import Actor
from crm.services.tickets import record_event

S = TicketStatus
EXTENSIONS = {"image/jpeg": "jpg", "image/png": "png", "image/webp": "webp"}
KINDS = frozenset({"photo", "signature"})
MAX_PER_TICKET = 20
# Uploads belong to work on site: during it, after it, or when it had to stop.
UPLOAD_STATUSES = frozenset({S.on_site, S.completed, S.on_hold})
GENERIC_TYPES = frozenset({"", "application/octet-stream"})


class PayloadTooLarge(DomainError):
    status = 413
    code = "payload_too_large"


class UnsupportedMediaType(DomainError):
    status = 415
    code = "unsupported_media_type"


@dataclass(frozen=True)
class Upload:
    """One file as received, before any check."""

    kind: str
    data: bytes
    declared_type: str = ""
    filename: str = ""


def sniff(head: bytes) -> str | None:
    """The image type the bytes really are (JPEG, PNG, WebP), or None."""
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if len(head) >= 12 and head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    return None


def check(upload: Upload, *, max_bytes: int) -> str:
    """The sniffed content type of an acceptable upload; 413, 415 or 422 otherwise."""
    if upload.kind not in KINDS:
        raise InvalidInput(
            f"attachment kind {upload.kind!r} is not one of: {', '.join(sorted(KINDS))}",
            [{"loc": ["body", "kind"], "msg": "photo or signature"}],
        )
    if not upload.data:
        raise InvalidInput(
            f"the {upload.kind} upload is empty",
            [{"loc": ["body", upload.kind], "msg": "empty file"}],
        )
    if len(upload.data) > max_bytes:
        raise PayloadTooLarge(
            f"the {upload.kind} is larger than the limit of {max_bytes} bytes",
            limit_bytes=max_bytes,
        )
    sniffed = sniff(upload.data[:16])
    if sniffed is None:
        raise UnsupportedMediaType(
            f"the {upload.kind} is not a JPEG, PNG or WebP image (checked by its content)",
            allowed=sorted(EXTENSIONS),
        )
    declared = upload.declared_type.split(";")[0].strip().lower()
    if declared not in GENERIC_TYPES and declared != sniffed:
        raise UnsupportedMediaType(
            f"the {upload.kind} is declared as {declared} but its content is {sniffed}",
            allowed=sorted(EXTENSIONS),
        )
    return sniffed


def store(
    session: Session,
    *,
    ticket: Ticket,
    upload: Upload,
    var_dir: Path,
    max_bytes: int,
    actor: Actor,
) -> Attachment:
    """Keep an upload for a ticket: the file under var_dir/uploads, a row, an event.

    The same bytes for the same ticket and kind return the existing row, so
    a phone that resends after a lost answer does not duplicate photos.
    """
    content_type = check(upload, max_bytes=max_bytes)
    if ticket.status not in UPLOAD_STATUSES:
        raise InvalidInput(
            f"photos and signatures belong to work on site; this ticket is {ticket.status}",
            [{"loc": ["body", upload.kind], "msg": "ticket not on site, completed or on hold"}],
        )
    digest = hashlib.sha256(upload.data).hexdigest()
    existing = session.exec(
        select(Attachment).where(
            Attachment.ticket_id == ticket.id,
            Attachment.sha256 == digest,
            Attachment.kind == upload.kind,
        )
    ).first()
    if existing is not None:
        return existing
    count = session.exec(
        select(func.count()).select_from(Attachment).where(col(Attachment.ticket_id) == ticket.id)
    ).one()
    if count >= MAX_PER_TICKET:
        raise InvalidInput(
            f"a ticket holds at most {MAX_PER_TICKET} attachments",
            [{"loc": ["body", upload.kind], "msg": "too many attachments"}],
        )
    relative = Path("uploads") / str(ticket.id) / f"{digest}.{EXTENSIONS[content_type]}"
    _write_once(var_dir / relative, upload.data)
    attachment = Attachment(
        ticket_id=ticket.id or 0,
        kind=upload.kind,
        content_type=content_type,
        size_bytes=len(upload.data),
        path=relative.as_posix(),
        sha256=digest,
    )
    session.add(attachment)
    session.flush()
    record_event(
        session,
        ticket,
        actor=actor,
        kind="attachment_added",
        payload={"attachment_id": attachment.id, "kind": upload.kind, "sha256": digest},
    )
    return attachment


def _write_once(path: Path, data: bytes) -> None:
    """Write atomically (temp file + rename); an existing file has these bytes already."""
    if path.exists():
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".upload-")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def for_ticket(session: Session, ticket_id: int, ids: list[int] | None = None) -> list[Attachment]:
    stmt = select(Attachment).where(Attachment.ticket_id == ticket_id)
    if ids is not None:
        stmt = stmt.where(col(Attachment.id).in_(ids))
    return list(session.exec(stmt.order_by(col(Attachment.id))).all())


def to_public(a: Attachment) -> AttachmentPublic:
    return AttachmentPublic(
        id=a.id or 0,
        ticket_id=a.ticket_id,
        kind=a.kind,
        content_type=a.content_type,
        size_bytes=a.size_bytes,
        sha256=a.sha256,
        created_at=a.created_at,
    )
