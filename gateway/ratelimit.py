"""Rate limits per client: a token bucket in memory per key (the token's subject, or the client's IP
when anonymous). The bucket holds `per_minute` tokens and refills continuously at per_minute / 60 a
second; an empty bucket answers 429 with Retry-After (whole seconds until one token is back)."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass
class _Bucket:
    tokens: float
    at: float


class TokenBucketLimiter:
    def __init__(self, per_minute: int, *, burst: int | None = None, clock: Callable[[], float] = time.monotonic,
                 max_keys: int = 100_000) -> None:
        self.rate = max(per_minute, 1) / 60.0
        self.capacity = float(burst if burst is not None else max(per_minute, 1))
        self.clock = clock
        self.max_keys = max_keys
        self._buckets: dict[str, _Bucket] = {}

    def take(self, key: str, cost: float = 1.0) -> float:
        """Take `cost` tokens for `key`: 0.0 if allowed, else the seconds to wait before retrying."""
        if self.rate <= 0:
            return 0.0
        now = self.clock()
        b = self._buckets.get(key)
        if b is None:
            if len(self._buckets) >= self.max_keys:
                self._evict(now)
            b = self._buckets[key] = _Bucket(self.capacity, now)
        else:
            b.tokens = min(self.capacity, b.tokens + (now - b.at) * self.rate)
            b.at = now
        if b.tokens >= cost:
            b.tokens -= cost
            return 0.0
        return (cost - b.tokens) / self.rate

    @staticmethod
    def retry_after(wait: float) -> int:
        return max(1, math.ceil(wait))

    def _evict(self, now: float) -> None:
        """Forget buckets that have refilled (idle clients); if none have, the oldest half."""
        full_after = self.capacity / self.rate
        idle = [k for k, b in self._buckets.items() if now - b.at >= full_after]
        if not idle:
            idle = sorted(self._buckets, key=lambda k: self._buckets[k].at)[: len(self._buckets) // 2]
        for k in idle:
            del self._buckets[k]

    def __len__(self) -> int:
        return len(self._buckets)
