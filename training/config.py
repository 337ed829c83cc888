"""Config loading for recipes: dataclass defaults, then a YAML file, then dotted `key=value` overrides.

Each recipe defines its own nested `@dataclass` config (validated in `__post_init__`, naming the field);
this module only fills one in:

    cfg = load_config(SFTConfig, "training/configs/sft.yaml", ["lora.r=8", "max_steps=200"])

Override values are parsed as YAML scalars (`8` -> int, `1e-4` -> float, `true` -> bool, `[a,b]` -> list).
Unknown keys are errors that name the key and list the valid ones; there is no reflection or `exec`.
"""

from __future__ import annotations

import argparse
import dataclasses
import types
import typing
from pathlib import Path
from typing import Any, TypeVar

import yaml

from retrieval.fileio import atomic_write_text

T = TypeVar("T")


class ConfigError(ValueError):
    """A config file or override that does not fit the recipe's dataclass."""


def _parse_scalar(text: str) -> Any:
    # "1e-4" is a str to YAML 1.1; numbers written like that are common in ML configs
    value = yaml.safe_load(text) if text != "" else ""
    if isinstance(value, str):
        try:
            return float(value) if any(c in value.lower() for c in ".e") else value
        except ValueError:
            return value
    return value


def _coerce(value: Any, tp: Any, key: str) -> Any:
    """Coerce a YAML value to the annotated type where it is unambiguous (int -> float, str path -> str)."""
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        if value is None:
            return None
        return _coerce(value, args[0], key) if len(args) == 1 else value
    if tp is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if tp is int and isinstance(value, float) and value.is_integer():
        return int(value)
    if tp in (int, float, str, bool) and value is not None and not isinstance(value, tp):
        if tp is str and isinstance(value, (int, float)):
            return str(value)
        raise ConfigError(f"`{key}` must be {tp.__name__}, got {type(value).__name__} {value!r}")
    if origin is list and isinstance(value, str):
        return [v.strip() for v in value.split(",") if v.strip()]
    return value


def _build(cls: type[T], data: dict[str, Any], prefix: str = "") -> T:
    if not isinstance(data, dict):
        raise ConfigError(f"`{prefix.rstrip('.') or 'config'}` must be a mapping, got {type(data).__name__}")
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}
    kwargs: dict[str, Any] = {}
    for key, value in data.items():
        if key not in fields:
            raise ConfigError(f"unknown config key `{prefix}{key}`; valid keys: {', '.join(sorted(fields))}")
        tp = hints[key]
        if dataclasses.is_dataclass(tp):
            kwargs[key] = _build(tp, value or {}, f"{prefix}{key}.")
        else:
            kwargs[key] = _coerce(value, tp, prefix + key)
    try:
        return cls(**kwargs)
    except (TypeError, ValueError) as e:
        raise ConfigError(f"{prefix.rstrip('.') or cls.__name__}: {e}") from e


def _set_dotted(tree: dict[str, Any], dotted: str, value: Any) -> None:
    parts = dotted.split(".")
    node = tree
    for p in parts[:-1]:
        node = node.setdefault(p, {})
        if not isinstance(node, dict):
            raise ConfigError(f"cannot set `{dotted}`: `{p}` is not a section")
    node[parts[-1]] = value


def load_config(cls: type[T], path: str | Path | None = None, overrides: list[str] | None = None) -> T:
    """Build a `cls` config from defaults, an optional YAML file, and `key=value` overrides.

    Args:
        cls: the recipe's config dataclass (nested dataclasses become YAML sections).
        path: YAML file; None for defaults only.
        overrides: strings like `lora.r=8`; applied after the file.

    Returns:
        The validated config instance.

    Raises:
        ConfigError: for unknown keys, wrong types or values the dataclass rejects; the message names the key.
    """
    tree: dict[str, Any] = {}
    if path is not None:
        path = Path(path)
        if not path.exists():
            raise ConfigError(f"{path}: config file not found")
        try:
            tree = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except yaml.YAMLError as e:
            raise ConfigError(f"{path}: invalid YAML: {e}") from e
    for item in overrides or []:
        if "=" not in item:
            raise ConfigError(f"override {item!r} is not of the form key=value")
        key, _, text = item.partition("=")
        _set_dotted(tree, key.strip(), _parse_scalar(text.strip()))
    return _build(cls, tree)


def config_to_dict(cfg: Any) -> dict[str, Any]:
    """A plain dict of a config dataclass (for saving beside an artifact)."""
    return dataclasses.asdict(cfg)


def save_config(cfg: Any, path: str | Path) -> None:
    """Write the resolved config as YAML (atomically), so the run can be reproduced from its output folder."""

    atomic_write_text(path, yaml.safe_dump(config_to_dict(cfg), sort_keys=False))


def recipe_parser(prog: str, doc: str | None, example_config: str, example_overrides: str) -> argparse.ArgumentParser:
    """The command line every training recipe takes: `CONFIG.yaml [key=value ...]` (add a recipe's own flags)."""
    p = argparse.ArgumentParser(prog=prog, description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("config", help=f"YAML config, e.g. {example_config}")
    p.add_argument("overrides", nargs="*", help=f"dotted key=value overrides, e.g. {example_overrides}")
    return p
