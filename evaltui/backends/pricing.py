"""Token prices the user can edit; an unknown model has an unknown cost, never a guess."""

from __future__ import annotations

from collections.abc import Mapping

from pydantic import BaseModel, ConfigDict, Field

from evaltui.backends.base import Usage

# Anthropic's documented multipliers of the input price, used when a price entry leaves the
# cache prices out: a cache write costs 1.25x, a cache read 0.1x.
CACHE_WRITE_FACTOR = 1.25
CACHE_READ_FACTOR = 0.1
BATCH_FACTOR = 0.5


class Price(BaseModel):
    """US dollars per million tokens for one model."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    input: float = Field(ge=0)
    output: float = Field(ge=0)
    cache_read: float | None = Field(default=None, ge=0)
    cache_write: float | None = Field(default=None, ge=0)

    def cost(self, usage: Usage) -> float:
        cache_read = (
            self.cache_read if self.cache_read is not None else self.input * CACHE_READ_FACTOR
        )
        cache_write = (
            self.cache_write if self.cache_write is not None else self.input * CACHE_WRITE_FACTOR
        )
        dollars = (
            usage.input_tokens * self.input
            + usage.output_tokens * self.output
            + usage.cache_read_input_tokens * cache_read
            + usage.cache_creation_input_tokens * cache_write
        )
        return dollars / 1_000_000


class PriceTable:
    """Model id -> `Price`. Empty by default: prices come from the user's config."""

    def __init__(self, prices: Mapping[str, Price] | None = None) -> None:
        self._prices = dict(prices or {})

    def __contains__(self, model: object) -> bool:
        return model in self._prices

    def get(self, model: str | None) -> Price | None:
        return None if model is None else self._prices.get(model)

    def cost(
        self, model: str | None, usage: Usage, *, batch: bool = False, alias: str | None = None
    ) -> float | None:
        """Dollars for `usage` on `model` (else on `alias`, e.g. the configured name of a model
        the API answered with a dated id), halved for batch calls; None when unknown."""
        price = self.get(model) or self.get(alias)
        if price is None:
            return None
        dollars = price.cost(usage)
        return dollars * BATCH_FACTOR if batch else dollars

    def merged(self, prices: Mapping[str, Price]) -> PriceTable:
        """A new table with `prices` added over these (an entry is replaced whole)."""
        return PriceTable({**self._prices, **prices})

    def as_dict(self) -> dict[str, dict[str, float | None]]:
        return {model: price.model_dump() for model, price in sorted(self._prices.items())}


NO_PRICES = PriceTable()
