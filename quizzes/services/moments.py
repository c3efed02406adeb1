"""Moments as the database stores them (datetimes) and as the game clock counts them (seconds)."""

from __future__ import annotations

from datetime import UTC, datetime


def _seconds(moment: datetime | None) -> float | None:
    return None if moment is None else moment.timestamp()


def _moment(seconds: float | None) -> datetime | None:
    return None if seconds is None else datetime.fromtimestamp(seconds, tz=UTC)
