"""The product index: dense embeddings + BM25 + exact filters, exact or HNSW, saved to a self-describing folder.

    idx = ProductIndex.build(catalog, encoder=None, kind="auto")   # None -> bundled all-MiniLM-L6-v2
    idx.search("warm jacket", top_k=10, filters=Filters(max_price=80), mode="hybrid")  # [(Product, score)]
    idx.save("out/index"); idx = ProductIndex.load("out/index")
    idx.add(products); idx.remove(["sku-1"]); idx.catalog

Modes: "dense" (cosine), "lexical" (BM25) and "hybrid" (both fused; `fusion="rrf"` reciprocal-rank
fusion or `"linear"` min-max-normalised weighted sum, `weights=(dense, lexical)`). Filters are hard:
a product outside them is never returned. `kind="auto"` picks exact search below `HNSW_THRESHOLD`
products and FAISS HNSW above. Products live in slots; `remove` frees slots (masked out at once,
compacted later or on save), `add` appends slots (an existing id is replaced), so no update re-encodes
the products already indexed.

Folder: `index_config.json` (encoder, dim, fields, kind, fingerprint, counts, search settings),
`embeddings.npy`, `products.jsonl`, `bm25_counts.npz` + `bm25_vocab.json`, and when HNSW `hnsw.faiss` plus
`category_hnsw.npz` (one graph per large category, searched when the filters name the category).
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from retrieval.ann import HNSW, CategoryGraphs, dense_search
from retrieval.bm25 import BM25
from retrieval.catalog import Catalog, Product, load_catalog
from retrieval.columns import FilterColumns
from retrieval.encoder import Encoder, load_encoder
from retrieval.fileio import DataError, Problem, atomic_folder, atomic_open, atomic_write_json, read_artifact
from retrieval.filters import Filters, normalize_value
from retrieval.fusion import fuse
from retrieval.text import DEFAULT_FIELDS, product_text

log = logging.getLogger(__name__)

HNSW_THRESHOLD = 50_000
CATEGORY_GRAPH_MIN_PRODUCTS = 5_000  # HNSW kind: categories this large get their own graph (`CategoryGraphs`)
FORMAT_VERSION = 1


def catalog_fingerprint(products: Iterable[Product]) -> str:
    """sha256 over the products' catalog records in order (first 16 hex digits)."""
    h = hashlib.sha256()
    for p in products:
        h.update(json.dumps(p.to_dict(), sort_keys=True, ensure_ascii=False).encode())
        h.update(b"\n")
    return h.hexdigest()[:16]


class ProductIndex:
    """Hybrid product search over a catalog. Build with `build`, reload with `load`."""

    def __init__(
        self,
        encoder: Encoder | str | None,
        fields: tuple[str, ...],
        kind: str,
        dim: int,
        hnsw_params: dict | None = None,
    ):
        self._encoder = encoder
        self.encoder_name = encoder if isinstance(encoder, str) else encoder.name
        self.fields = tuple(fields)
        self.kind = kind
        self.dim = dim
        self.hnsw_params = {"m": 32, "ef_construction": 80, "ef_search": 400, **(hnsw_params or {})}
        self.products: list[Product | None] = []  # per slot; None = removed
        self.slot_of: dict[str, int] = {}
        self.alive = np.zeros(0, bool)
        self.embeddings = np.zeros((0, dim), np.float32)
        self.bm25 = BM25()
        self.columns = FilterColumns()
        self.hnsw: HNSW | None = None
        self.category_graphs: CategoryGraphs | None = None  # HNSW kind: one graph per large category
        self._catalog: Catalog | None = None
        self.exact_below: int | None = None  # filters allowing fewer slots search exactly (None: by cost)

    # ------------------------------------------------------------------------------------------ build
    @classmethod
    def build(
        cls,
        catalog: Catalog | Iterable[Product],
        encoder: Encoder | str | None = None,
        kind: str = "auto",
        *,
        fields: Iterable[str] = DEFAULT_FIELDS,
        batch_size: int = 64,
        show_progress: bool = False,
        embeddings: np.ndarray | None = None,
        hnsw_params: dict | None = None,
    ) -> ProductIndex:
        """Encode and index a catalog.

        Args:
            catalog: a `Catalog` or products (ids unique).
            encoder: an `Encoder`, a name for `load_encoder`, or None for the bundled MiniLM.
            kind: "exact", "hnsw" or "auto" (HNSW from `HNSW_THRESHOLD` products).
            fields: product fields in the text that is embedded and BM25-indexed.
            batch_size, show_progress: encoding batch size and tqdm bar.
            embeddings: precomputed normalised embeddings in catalog order (skips encoding).
            hnsw_params: m, ef_construction, ef_search.

        Returns:
            The index.
        """
        products = list(catalog)
        if len({p.id for p in products}) != len(products):
            raise ValueError("product ids must be unique")
        if kind not in ("auto", "exact", "hnsw"):
            raise ValueError(f"`kind` must be auto, exact or hnsw, got {kind!r}")
        enc = load_encoder(encoder) if encoder is None or isinstance(encoder, str) else encoder
        if kind == "auto":
            kind = "hnsw" if len(products) >= HNSW_THRESHOLD else "exact"
        idx = cls(enc, tuple(fields), kind, enc.dim, hnsw_params)
        if kind == "hnsw":
            idx.hnsw = HNSW(enc.dim, **idx.hnsw_params)
            idx.category_graphs = CategoryGraphs(enc.dim, idx.hnsw_params, CATEGORY_GRAPH_MIN_PRODUCTS)
        idx._append(products, embeddings=embeddings, batch_size=batch_size, show_progress=show_progress)
        idx.bm25.prepare()
        log.info("built %s index of %d products (encoder %s)", kind, len(products), enc.name)
        return idx

    @property
    def encoder(self) -> Encoder:
        """The query encoder, loaded on first use when the index came from disk."""
        if isinstance(self._encoder, str) or self._encoder is None:
            self._encoder = load_encoder(self._encoder)
        return self._encoder

    def _append(
        self,
        products: list[Product],
        embeddings: np.ndarray | None = None,
        batch_size: int = 64,
        show_progress: bool = False,
    ) -> None:
        if embeddings is None:
            texts = [product_text(p, self.fields) for p in products]
            embeddings = self.encoder.encode(texts, batch_size=batch_size, show_progress=show_progress)
        else:
            texts = None
        embeddings = np.ascontiguousarray(embeddings, dtype=np.float32)
        if embeddings.shape != (len(products), self.dim):
            raise ValueError(f"embeddings have shape {embeddings.shape}, expected ({len(products)}, {self.dim})")
        start = len(self.products)
        self.embeddings = np.concatenate([self.embeddings, embeddings]) if start else embeddings
        self.products.extend(products)
        self.slot_of.update((p.id, start + i) for i, p in enumerate(products))
        self.alive = np.concatenate([self.alive, np.ones(len(products), bool)])
        self.bm25.add(texts if texts is not None else [product_text(p, self.fields) for p in products])
        self.columns.add(products)
        if self.hnsw is not None:
            self.hnsw.add(embeddings, progress=show_progress)
        if self.category_graphs is not None:
            self.category_graphs.add(embeddings, [normalize_value(p.category) for p in products], start, show_progress)
        self._catalog = None

    # ------------------------------------------------------------------------------------------ update
    def add(self, products: Iterable[Product], embeddings: np.ndarray | None = None, batch_size: int = 64) -> int:
        """Add products (an id already indexed is replaced). Only the new products are encoded.

        Returns:
            The number of products added or replaced.
        """
        products = list(products)
        if len({p.id for p in products}) != len(products):
            raise ValueError("product ids must be unique within one add()")
        replaced = [p.id for p in products if p.id in self.slot_of]
        if replaced:
            self._free(replaced)
        self._append(products, embeddings=embeddings, batch_size=batch_size)
        self._maybe_compact()
        return len(products)

    def remove(self, ids: Iterable[str]) -> int:
        """Remove products by id.

        Raises:
            KeyError: naming ids that are not in the index (nothing is removed then).
        """
        ids = list(dict.fromkeys(ids))
        missing = [i for i in ids if i not in self.slot_of]
        if missing:
            raise KeyError(f"not in the index: {', '.join(missing[:10])}" + (" ..." if len(missing) > 10 else ""))
        self._free(ids)
        self._maybe_compact()
        return len(ids)

    def _free(self, ids: list[str]) -> None:
        slots = np.asarray([self.slot_of.pop(i) for i in ids], np.int64)
        self.alive[slots] = False
        for s in slots:
            self.products[s] = None
        self.bm25.remove_slots(slots)
        self._catalog = None

    def _maybe_compact(self, force: bool = False) -> None:
        dead = len(self.alive) - int(self.alive.sum())
        limit = 0.5 if self.hnsw is not None else 0.25
        if dead and (force or dead > limit * len(self.alive)):
            self.compact()

    def compact(self) -> None:
        """Drop freed slots and renumber; rebuilds the HNSW graph from stored embeddings (no re-encoding)."""
        keep = np.flatnonzero(self.alive)
        self.embeddings = np.ascontiguousarray(self.embeddings[keep])
        self.products = [self.products[i] for i in keep]
        self.slot_of = {p.id: i for i, p in enumerate(self.products)}
        self.alive = np.ones(len(keep), bool)
        self.bm25.compact(keep)
        self.columns.compact(keep)
        if self.hnsw is not None:
            log.info("rebuilding HNSW graph over %d products after removals", len(keep))
            self.hnsw = HNSW(self.dim, **self.hnsw_params)
            self.hnsw.add(self.embeddings)
            self.category_graphs = CategoryGraphs(self.dim, self.hnsw_params, CATEGORY_GRAPH_MIN_PRODUCTS)
            self.category_graphs.add(self.embeddings, [normalize_value(p.category) for p in self.products], 0)

    # ------------------------------------------------------------------------------------------ search
    @property
    def catalog(self) -> Catalog:
        """The indexed products (slot order)."""
        if self._catalog is None:
            self._catalog = Catalog(p for p in self.products if p is not None)
        return self._catalog

    def __len__(self) -> int:
        return len(self.slot_of)

    def mask(self, filters: Filters | None) -> np.ndarray | None:
        """Bool mask of searchable slots under `filters` (None = every slot)."""
        m = self.columns.mask(filters, self.slot_of)
        if not self.alive.all():
            m = self.alive.copy() if m is None else m & self.alive
        return m

    def search(
        self,
        query: str,
        top_k: int = 10,
        filters: Filters | None = None,
        mode: str = "hybrid",
        *,
        fusion: str = "linear",
        weights: tuple[float, float] = (1.0, 1.0),
        candidates: int = 100,
        query_vector: np.ndarray | None = None,
        ef_search: int | None = None,
    ) -> list[tuple[Product, float]]:
        """Search the catalog.

        Args:
            query: the shopper's text.
            top_k: results wanted.
            filters: hard constraints (`retrieval.filters.Filters`).
            mode: "hybrid", "dense" or "lexical".
            fusion: "linear" (min-max-normalised weighted sum; the default, best or tied on our benchmarks) or
                "rrf" (reciprocal-rank fusion) (hybrid only).
            weights: (dense, lexical) weights of the fusion.
            candidates: per-retriever candidates fused in hybrid mode (at least `top_k`).
            query_vector: a precomputed query embedding (skips encoding).
            ef_search: HNSW beam width for this query.

        Returns:
            `(product, score)` pairs, best first; never a product outside `filters`.
        """
        if mode not in ("hybrid", "dense", "lexical"):
            raise ValueError(f"`mode` must be hybrid, dense or lexical, got {mode!r}")
        if top_k <= 0 or not self.slot_of:
            return []
        graph, group, rows = self.hnsw, None, None  # a category filter reads its category's slots, graph, postings
        if filters is not None and filters.category is not None:
            cat = normalize_value(filters.category)
            group = self.columns.category.table.get(cat)
            if group is None:
                return []
            rows = self.columns.category_rows(group)
            own = self.category_graphs.get(cat) if self.category_graphs else None
            if own is not None and own.ntotal == len(rows):
                graph = own  # holds exactly the category's slots, in slot order (`dense_search(rows=...)`)
            elif self.hnsw is not None and (own is not None or len(rows) >= CATEGORY_GRAPH_MIN_PRODUCTS):
                rows = None  # no graph of all of the category's slots: the global graph, filtered
            else:
                graph = None  # a small category: exact search over its slots
        if rows is None:
            mask = dmask = self.mask(filters)
        else:  # the mask over the category's slots, spread over all slots for BM25
            dmask = self.columns.mask(filters, self.slot_of, within=group)
            if not self.alive.all():
                dmask &= self.alive[rows]
            mask = np.zeros(len(self.alive), bool)
            mask[rows] = dmask
        if mask is not None and not dmask.any():
            return []
        qv = None
        if mode != "lexical":
            qv = self.encoder.encode_query(query) if query_vector is None else np.asarray(query_vector, np.float32)
        groups = self.columns.category.codes
        if mode == "dense":
            slots, sc = dense_search(self.embeddings, qv, top_k, dmask, graph, self.exact_below, ef_search, rows=rows)
        elif mode == "lexical":
            slots, sc = self.bm25.top(query, top_k, self._lex_mask(mask), group, groups)
        else:
            n = max(candidates, top_k)
            d_slots, d_sc = dense_search(
                self.embeddings, qv, n, dmask, graph, self.exact_below, ef_search, need=top_k, rows=rows
            )
            l_slots, l_sc = self.bm25.top(query, n, self._lex_mask(mask), group, groups)
            dense, lexical = (lambda s: self.embeddings[s] @ qv), (lambda s: self.bm25.score_slots(query, s))
            slots, sc = fuse(d_slots, d_sc, l_slots, top_k, fusion, weights, dense, lexical, l_sc)
        return [(self.products[s], float(v)) for s, v in zip(slots, sc)]

    def _lex_mask(self, mask: np.ndarray | None) -> np.ndarray:
        return self.alive if mask is None else mask

    # ------------------------------------------------------------------------------------------ save / load
    def save(self, folder: str | Path) -> Path:
        """Write the index folder (compacting freed slots first), replacing an index there as a whole.

        The files are written into a new folder beside `folder` and swapped in (`atomic_folder`), so a save
        killed at any moment (e.g. during an in-place `index update`) leaves the previous index loadable.

        Raises:
            DataError: `folder` exists and holds files but no index (it is never emptied).
        """
        folder = Path(folder)
        if folder.exists() and (not folder.is_dir() or any(folder.iterdir())):
            if not (folder / "index_config.json").is_file():
                raise DataError([Problem(str(folder), None, None, "not an index folder and not empty; not replaced")])
        self._maybe_compact(force=True)
        prods = [p for p in self.products if p is not None]
        with atomic_folder(folder) as tmp:
            self._write(tmp, prods)
        log.info("saved index of %d products to %s", len(prods), folder)
        return folder

    def _write(self, folder: Path, prods: list[Product]) -> None:
        Catalog(prods).save(folder / "products.jsonl")
        with atomic_open(folder / "embeddings.npy", "wb") as f:
            np.save(f, self.embeddings)
        self.bm25.save(folder)
        if self.hnsw is not None:
            self.hnsw.save(str(folder / "hnsw.faiss"))
        if self.category_graphs is not None:
            self.category_graphs.save(str(folder / "category_hnsw.npz"))
        atomic_write_json(
            folder / "index_config.json",
            {
                "format_version": FORMAT_VERSION,
                "encoder": self.encoder_name,
                "dim": self.dim,
                "fields": list(self.fields),
                "kind": self.kind,
                "hnsw": self.hnsw_params if self.hnsw else None,
                "count": len(prods),
                "catalog_fingerprint": catalog_fingerprint(prods),
                "categories": sorted({p.category for p in prods}),
                "bm25": {"k1": self.bm25.k1, "b": self.bm25.b},
            },
        )

    @classmethod
    def load(cls, folder: str | Path, encoder: Encoder | str | None = None, check: bool = True) -> ProductIndex:
        """Reload a saved index without re-encoding.

        Args:
            folder: what `save` wrote.
            encoder: override the query encoder (must have the same dim); default: the one in the config,
                loaded on first dense query.
            check: verify the catalog fingerprint and array sizes.

        Raises:
            DataError: the folder is missing files, one is cut short or corrupt (named), or its parts disagree.
        """

        folder = Path(folder)
        cfg_path = folder / "index_config.json"
        if not cfg_path.exists():
            raise DataError([Problem(str(folder), None, None, "not an index folder (no index_config.json)")])
        cfg = read_artifact(cfg_path, lambda f: json.loads(f.read_text(encoding="utf-8")))
        products = list(load_catalog(folder / "products.jsonl"))
        emb = read_artifact(folder / "embeddings.npy", np.load)
        probs = []
        if emb.shape != (len(products), cfg["dim"]):
            probs.append(
                Problem(
                    str(folder / "embeddings.npy"),
                    None,
                    None,
                    f"shape {emb.shape} does not match {len(products)} products x dim {cfg['dim']}",
                )
            )
        if check and catalog_fingerprint(products) != cfg["catalog_fingerprint"]:
            probs.append(
                Problem(
                    str(folder / "products.jsonl"),
                    None,
                    None,
                    "catalog fingerprint differs from index_config.json (changed after the index was saved)",
                )
            )
        if probs:
            raise DataError(probs)
        enc = encoder if encoder is not None else cfg["encoder"]
        idx = cls(enc, tuple(cfg["fields"]), cfg["kind"], cfg["dim"], cfg.get("hnsw"))
        if not isinstance(enc, str) and enc.dim != cfg["dim"]:
            raise ValueError(f"encoder dim {enc.dim} differs from the index dim {cfg['dim']}")
        idx.products = list(products)
        idx.slot_of = {p.id: i for i, p in enumerate(products)}
        idx.alive = np.ones(len(products), bool)
        idx.embeddings = np.ascontiguousarray(emb, dtype=np.float32)
        idx.bm25 = BM25.load(folder)
        idx.bm25.prepare()
        idx.columns = FilterColumns.build(products)
        if cfg["kind"] == "hnsw":
            ef_search = (cfg.get("hnsw") or {}).get("ef_search")
            idx.hnsw = read_artifact(folder / "hnsw.faiss", lambda f: HNSW.load(str(f), ef_search=ef_search))
            if (folder / "category_hnsw.npz").exists():  # absent in indexes saved before category graphs
                idx.category_graphs = read_artifact(
                    folder / "category_hnsw.npz", lambda f: CategoryGraphs.load(str(f), idx.dim, idx.hnsw_params)
                )
        return idx
