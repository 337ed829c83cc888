"""Column arrays over index slots that turn `Filters` into exact boolean masks, vectorised.

`FilterColumns` keeps, per slot: price (float, NaN when missing), category code, brand code, and per
attribute name a posting list value -> slots. `mask(filters)` returns the bool array of slots that
satisfy `filters` with exactly the semantics of `Filters.matches` (case-insensitive, list-valued
attributes match on any element, products without a price fail any price bound), in a few
milliseconds at a million products. `mask(filters, within=code)` computes the same mask over one
category's slots only (`category_rows(code)`), on per-category copies of the columns: a category filter
then never passes over the whole catalog (0.05 ms instead of 0.7 ms for 12% of 1M products). Columns grow
by appending slots; removed slots are handled by the index's `alive` mask, and `compact(keep)` renumbers.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from typing import Any

import numpy as np

from retrieval.catalog import Product
from retrieval.filters import Filters, normalize_value


class _Codes:
    """A growable string -> int code table plus one int32 code per slot (-1 = missing)."""

    def __init__(self) -> None:
        self.table: dict[str, int] = {}
        self.codes = np.zeros(0, np.int32)

    def extend(self, values: Iterable[str | None]) -> None:
        new = np.fromiter((-1 if v is None else self.table.setdefault(v, len(self.table)) for v in values), np.int32)
        self.codes = np.concatenate([self.codes, new])

    def eq_mask(self, values: Iterable[str], codes: np.ndarray | None = None) -> np.ndarray:
        """Slots whose value is one of `values`, over `codes` (default: every slot's code)."""
        codes = self.codes if codes is None else codes
        ids = [self.table[v] for v in values if v in self.table]
        if not ids:
            return np.zeros(len(codes), bool)
        if len(ids) == 1:
            return codes == ids[0]
        return np.isin(codes, np.asarray(ids, np.int32))


class FilterColumns:
    """Per-slot columns for exact, vectorised filtering."""

    def __init__(self) -> None:
        self.n = 0
        self.price = np.zeros(0, np.float64)
        self.category = _Codes()
        self.brand = _Codes()
        # attribute name -> normalised value -> list of slots (appended in slot order, so sorted)
        self.postings: dict[str, dict[str, list[int]]] = defaultdict(lambda: defaultdict(list))
        self._arrays: dict[tuple[str, str], np.ndarray] = {}
        # category code -> (its slots ascending, their price, brand code); see `category_rows`
        self._parts: dict[int, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}
        self.ids: list[str] = []

    @classmethod
    def build(cls, products: Iterable[Product]) -> FilterColumns:
        c = cls()
        c.add(list(products))
        return c

    def add(self, products: list[Product]) -> None:
        """Append one slot per product."""
        start = self.n
        self.price = np.concatenate(
            [self.price, np.array([np.nan if p.price is None else p.price for p in products], np.float64)]
        )
        self.category.extend(normalize_value(p.category) for p in products)
        self.brand.extend(normalize_value(p.brand) if p.brand else None for p in products)
        for i, p in enumerate(products):
            for name, v in p.attributes.items():
                if v is None:
                    continue
                vals = v if isinstance(v, list) else [v]
                post = self.postings[name]
                for x in {normalize_value(x) for x in vals}:
                    post[x].append(start + i)
        self.ids.extend(p.id for p in products)
        self.n += len(products)
        self._arrays.clear()
        self._parts.clear()

    def compact(self, keep: np.ndarray) -> None:
        """Keep only slots `keep` (ascending), renumbered 0..len(keep)-1."""
        keep = np.asarray(keep, np.int64)
        newpos = np.full(self.n, -1, np.int64)
        newpos[keep] = np.arange(len(keep))
        self.price = self.price[keep]
        self.category.codes = self.category.codes[keep]
        self.brand.codes = self.brand.codes[keep]
        for name, post in self.postings.items():
            for val in list(post):
                moved = newpos[np.asarray(post[val], np.int64)]
                moved = moved[moved >= 0]
                if len(moved):
                    post[val] = moved.tolist()
                else:
                    del post[val]
        self.ids = [self.ids[i] for i in keep]
        self.n = len(keep)
        self._arrays.clear()
        self._parts.clear()

    def _slots(self, name: str, value: str) -> np.ndarray:
        key = (name, value)
        a = self._arrays.get(key)
        if a is None:
            a = self._arrays[key] = np.asarray(self.postings.get(name, {}).get(value, []), np.int64)
        return a

    def _attr_mask(self, name: str, wanted: Any) -> np.ndarray:
        """Slots whose attribute `name` has any of the wanted values (Filters._has_value)."""
        m = np.zeros(self.n, bool)
        for w in wanted if isinstance(wanted, list) else [wanted]:
            m[self._slots(name, normalize_value(w))] = True
        return m

    def _contains_mask(self, name: str, part: str) -> np.ndarray:
        m = np.zeros(self.n, bool)
        part = normalize_value(part)
        for val in self.postings.get(name, {}):
            if part in val:
                m[self._slots(name, val)] = True
        return m

    def _part(self, code: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        part = self._parts.get(code)
        if part is None:
            rows = np.flatnonzero(self.category.codes == code)
            part = self._parts[code] = (rows, self.price[rows], self.brand.codes[rows])
        return part

    def category_rows(self, code: int) -> np.ndarray:
        """The slots (ascending) whose category has code `code`, cached until the columns change."""
        return self._part(code)[0]

    def mask(
        self, f: Filters | None, id_to_slot: dict[str, int] | None = None, within: int | None = None
    ) -> np.ndarray | None:
        """Bool mask over slots of products satisfying `f`; None when `f` constrains nothing.

        Args:
            f: the filters.
            id_to_slot: product id -> slot, for `exclude_ids` (built from the columns when None).
            within: a category code: the mask over that category's slots only, `mask(f)[category_rows(within)]`,
                computed on the category's own column copies (attribute filters still read their postings).
        """
        if f is None or f.is_empty():
            return None
        if within is None:
            rows, price, brand, m = None, self.price, self.brand.codes, np.ones(self.n, bool)
        else:
            rows, price, brand = self._part(within)
            m = np.ones(len(rows), bool)
        if f.category is not None:
            if within is None:
                m &= self.category.eq_mask([normalize_value(f.category)])
            elif self.category.table.get(normalize_value(f.category)) != within:
                m[:] = False
        if f.min_price is not None:
            m &= price >= f.min_price  # NaN (no price) compares False
        if f.max_price is not None:
            m &= price <= f.max_price
        if f.brands:
            m &= self.brand.eq_mask({normalize_value(b) for b in f.brands}, brand)
        if f.exclude_brands:
            m &= ~self.brand.eq_mask({normalize_value(b) for b in f.exclude_brands}, brand)
        # attribute postings hold slots: their masks are built over all slots, then read at `rows`
        local = (lambda a: a) if rows is None else (lambda a: a[rows])
        for name, want in f.attributes_equal.items():
            m &= local(self._attr_mask(name, want))
        for name, part in f.attributes_contain.items():
            m &= local(self._contains_mask(name, part))
        for name, unwanted in f.exclude_attributes.items():
            m &= ~local(self._attr_mask(name, unwanted))
        if f.exclude_ids:
            if id_to_slot is None:
                id_to_slot = {pid: i for i, pid in enumerate(self.ids)}
            bad = np.asarray([id_to_slot[i] for i in f.exclude_ids if i in id_to_slot], np.int64)
            if rows is not None:  # slots -> positions in `rows`, dropping slots of other categories
                pos = np.minimum(np.searchsorted(rows, bad), max(len(rows) - 1, 0))
                bad = pos[rows[pos] == bad] if len(rows) else bad[:0]
            m[bad] = False
        return m
