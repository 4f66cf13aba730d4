"""The audit trail: services call ``record`` inside their unit of work."""

from __future__ import annotations

from typing import Any

from .extensions import db
from .models import AuditEntry, User


def record(
    actor: User | str | None,
    action: str,
    obj: Any = None,
    *,
    object_type: str | None = None,
    object_id: Any = None,
    changes: dict | None = None,
    reason: str | None = None,
    org_id: int | None = None,
) -> AuditEntry:
    """Add an audit row to the current transaction (the caller's unit of work commits it).

    ``actor`` is the acting user, or a label such as ``"cli"`` for commands.
    ``changes`` maps a field to ``{"old": ..., "new": ...}``, or holds a summary.
    """
    if isinstance(actor, User):
        actor_id, label = actor.id, actor.email
    else:
        actor_id, label = None, actor or "system"
    if obj is not None:
        object_type = object_type or obj.__tablename__
        object_id = object_id if object_id is not None else getattr(obj, "id", None)
    entry = AuditEntry(
        actor_id=actor_id,
        actor_label=label,
        org_id=org_id,
        action=action,
        object_type=object_type or "-",
        object_id=None if object_id is None else str(object_id),
        changes=changes,
        reason=reason,
    )
    db.session.add(entry)
    return entry


def diff(obj: Any, new_values: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The fields of ``obj`` that ``new_values`` would change, as {field: {old, new}}."""
    return {
        field: {"old": getattr(obj, field), "new": value}
        for field, value in new_values.items()
        if getattr(obj, field) != value
    }
