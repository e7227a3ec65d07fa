"""Staff alerts in SQLite (written by `SqliteResponseStore.commit_answer`)."""

from __future__ import annotations

from bot.domain.models import AlertReason, PendingAlert
from storage.database import Database, from_db_time
from storage.responses import SqliteResponseStore


class SqliteAlertStore:
    """The `AlertStore` over the shared database."""

    def __init__(self, database: Database) -> None:
        self._db = database
        self._responses = SqliteResponseStore(database)

    async def pending_alerts(self) -> list[PendingAlert]:
        """Alerts never sent, or changed since they were sent, oldest first."""
        async with self._db.connection.execute(
            "SELECT id, response_id, reasons, created_at, staff_message_id, version"
            " FROM alerts WHERE version > delivered_version ORDER BY id"
        ) as cursor:
            rows = await cursor.fetchall()
        pending = []
        for row in rows:
            response = await self._responses.get_response(row["response_id"])
            if response is None:  # pragma: no cover - alerts cascade with their response
                continue
            pending.append(
                PendingAlert(
                    id=row["id"],
                    response=response,
                    reasons=tuple(AlertReason(r) for r in row["reasons"].split(",") if r),
                    created_at=from_db_time(row["created_at"]),
                    staff_message_id=row["staff_message_id"],
                    version=row["version"],
                )
            )
        return pending

    async def mark_delivered(self, alert_id: int, staff_message_id: int, version: int) -> None:
        """Record that staff have seen this version of the alert."""
        async with self._db.transaction() as conn:
            await conn.execute(
                "UPDATE alerts SET staff_message_id = ?,"
                " delivered_version = max(delivered_version, ?) WHERE id = ?",
                (staff_message_id, version, alert_id),
            )
