"""When to retry a transient failure and how long to wait first."""

from __future__ import annotations

import random
from dataclasses import dataclass, field


@dataclass(frozen=True)
class RetryPolicy:
    """Retries of one call: the server's `retry-after` (capped), else exponential backoff
    0.5 s * 2^n capped at 8 s minus up to 25 % jitter (the Anthropic SDK's constants)."""

    max_retries: int = 4
    max_delay_s: float = 60.0
    """Cap on the `retry-after` we honour: a longer ask waits this long, then tries again."""
    base_s: float = 0.5
    backoff_cap_s: float = 8.0
    jitter: float = 0.25
    rng: random.Random = field(default_factory=random.Random, compare=False, repr=False)

    def delay(self, retry: int, retry_after: float | None) -> float:
        """Seconds to wait before retry number `retry` (0-based)."""
        if retry_after is not None:
            return min(max(0.0, retry_after), self.max_delay_s)
        backoff: float = min(self.base_s * 2.0**retry, self.backoff_cap_s)
        return backoff * (1 - self.jitter * self.rng.random())


NO_RETRIES = RetryPolicy(max_retries=0)
