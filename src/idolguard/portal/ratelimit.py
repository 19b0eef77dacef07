"""Rate limits: per client address (per minute and per hour) and global (per second).

Two stores, same fixed-window semantics:
- the database (default): counters in ``portal_rate_counters``, incremented inside the report writer's
  transaction, so several portal processes share them and a limit can never be passed by a race;
- Redis (``[portal] redis_url`` / ``IDOLGUARD_PORTAL_REDIS``, e.g. ``redis://127.0.0.1:6379/0``): INCR +
  EXPIRE per window, checked before the database is touched.

A per-process in-memory limiter also guards cheap endpoints (challenges) and rejects floods of invalid
requests before they cost a database write.
"""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from idolguard.portal.models import PortalRateCounter
from idolguard.portal.settings import PortalSettings


@dataclass(frozen=True)
class Rule:
    name: str
    limit: int
    window_s: int


def rules_for(settings: PortalSettings, ip_key: str) -> list[tuple[str, Rule]]:
    """(counter key, rule) pairs a report submission counts against."""
    return [
        (f"ip:{ip_key}", Rule("per_ip_minute", settings.per_ip_per_minute, 60)),
        (f"ip:{ip_key}", Rule("per_ip_hour", settings.per_ip_per_hour, 3600)),
        ("global", Rule("global_second", settings.global_per_second, 1)),
    ]


def _window(now: float, window_s: int) -> tuple[int, float]:
    index = int(now // window_s)
    return index, (index + 1) * window_s - now


def db_batch(
    session: Session, batch: list[list[tuple[str, Rule]]], now: float | None = None
) -> tuple[list[int | None], list[int]]:
    """Count one attempt per submission, in order, against the database counters.

    Returns, per submission, the Retry-After seconds when a limit is exceeded (else None) and how many
    attempts its address made in the hour window. Rules are checked in order and counting stops at the first
    exceeded one, so a flooding address's refused attempts never use up the global allowance everyone else
    shares. The counters are read once and written once per batch (callers hold the workspace write lock, so
    no other writer runs in between).
    """
    now = now if now is not None else time.time()
    keyed: list[list[tuple[str, Rule, float, datetime]]] = []
    for rules in batch:
        row = []
        for key, rule in rules:
            index, left = _window(now, rule.window_s)
            expires = datetime.fromtimestamp((index + 1) * rule.window_s, UTC) + timedelta(seconds=5)
            row.append((f"{rule.name}:{key}:{index}"[:160], rule, left, expires))
        keyed.append(row)
    names = sorted({k for row in keyed for k, _, _, _ in row})
    counts = dict(
        session.execute(
            select(PortalRateCounter.key, PortalRateCounter.count).where(PortalRateCounter.key.in_(names))
        ).all()
    )
    deltas: dict[str, tuple[int, datetime]] = {}
    decisions: list[int | None] = []
    recent: list[int] = []
    for row in keyed:
        retry = None
        hour = 0
        for counter_key, rule, left, expires in row:
            counts[counter_key] = counts.get(counter_key, 0) + 1
            deltas[counter_key] = (deltas.get(counter_key, (0, expires))[0] + 1, expires)
            if rule.name == "per_ip_hour":
                hour = counts[counter_key]
            if counts[counter_key] > rule.limit:
                retry = max(1, math.ceil(left))
                break
        decisions.append(retry)
        recent.append(hour)
    if deltas:
        dialect = session.get_bind().dialect.name
        if dialect == "postgresql":
            from sqlalchemy.dialects.postgresql import insert
        else:
            from sqlalchemy.dialects.sqlite import insert
        stmt = insert(PortalRateCounter)
        stmt = stmt.on_conflict_do_update(
            index_elements=[PortalRateCounter.key], set_={"count": PortalRateCounter.count + stmt.excluded.count}
        )
        session.execute(stmt, [{"key": k, "count": n, "expires_at": e} for k, (n, e) in deltas.items()])
    return decisions, recent


def db_cleanup(session: Session) -> None:
    session.execute(delete(PortalRateCounter).where(PortalRateCounter.expires_at < datetime.now(UTC)))


class RedisLimiter:
    def __init__(self, url: str) -> None:
        import redis

        self.client = redis.Redis.from_url(url, socket_timeout=2.0, socket_connect_timeout=2.0)
        self.client.ping()  # fail at start-up, not at the first report

    def hit(self, rules: list[tuple[str, Rule]], now: float | None = None) -> tuple[int | None, int]:
        """(Retry-After seconds or None, attempts of this address in the hour window)."""
        now = now if now is not None else time.time()
        hour = 0
        per_address = [(k, r) for k, r in rules if k != "global"]
        shared = [(k, r) for k, r in rules if k == "global"]
        for group in (per_address, shared):  # a refused address does not use the shared allowance
            pipe = self.client.pipeline(transaction=False)
            lefts = []
            for key, rule in group:
                index, left = _window(now, rule.window_s)
                counter_key = f"idolguard:portal:{rule.name}:{key}:{index}"
                pipe.incr(counter_key)
                pipe.expire(counter_key, rule.window_s + 5)
                lefts.append((rule, left))
            results = pipe.execute()
            for (rule, left), count in zip(lefts, results[::2], strict=True):
                if rule.name == "per_ip_hour":
                    hour = int(count)
                if int(count) > rule.limit:
                    return max(1, math.ceil(left)), hour
        return None, hour


class LocalWindows:
    """The same fixed windows counted in this process only: an address already over its limit here is over
    it in the shared store too (which counts at least as much), so it is refused without a database write.
    This keeps a flood's refusals cheap; the shared store stays the authority for everything else."""

    def __init__(self) -> None:
        self.counts: dict[str, int] = {}
        self.lock = threading.Lock()
        self._pruned = 0

    def over(self, rules: list[tuple[str, Rule]], now: float | None = None) -> int | None:
        now = now if now is not None else time.time()
        with self.lock:
            if now - self._pruned > 10:
                self._prune(now)
            for key, rule in rules:
                if key == "global":
                    continue
                index, left = _window(now, rule.window_s)
                counter_key = f"{rule.name}:{key}:{index}"
                count = self.counts.get(counter_key, 0) + 1
                self.counts[counter_key] = count
                if count > rule.limit:
                    return max(1, math.ceil(left))
        return None

    def blocked(self, rules: list[tuple[str, Rule]], now: float | None = None) -> int | None:
        """Retry-After if this address already used up a window here (checked before the body is even read)."""
        now = now if now is not None else time.time()
        with self.lock:
            for key, rule in rules:
                if key == "global":
                    continue
                index, left = _window(now, rule.window_s)
                if self.counts.get(f"{rule.name}:{key}:{index}", 0) >= rule.limit:
                    return max(1, math.ceil(left))
        return None

    def _prune(self, now: float) -> None:
        self._pruned = now
        keep: dict[str, int] = {}
        for counter_key, count in self.counts.items():
            name, _, rest = counter_key.partition(":")
            window = {"per_ip_minute": 60, "per_ip_hour": 3600}.get(name, 1)
            if int(rest.rsplit(":", 1)[1]) >= int(now // window):
                keep[counter_key] = count
        self.counts = keep


class MemoryLimiter:
    """Token bucket per key, in this process only (first line of defence, no I/O)."""

    def __init__(self, per_minute: int, max_keys: int = 100_000) -> None:
        self.rate = per_minute / 60.0
        self.capacity = float(per_minute)
        self.max_keys = max_keys
        self.buckets: dict[str, tuple[float, float]] = {}
        self.lock = threading.Lock()

    def hit(self, key: str, cost: float = 1.0) -> int | None:
        now = time.monotonic()
        with self.lock:
            tokens, last = self.buckets.get(key, (self.capacity, now))
            tokens = min(self.capacity, tokens + (now - last) * self.rate)
            if tokens < cost:
                self.buckets[key] = (tokens, now)
                return max(1, math.ceil((cost - tokens) / self.rate))
            if len(self.buckets) >= self.max_keys and key not in self.buckets:
                self.buckets.clear()  # bounded memory under an address-spraying flood
            self.buckets[key] = (tokens - cost, now)
            return None
