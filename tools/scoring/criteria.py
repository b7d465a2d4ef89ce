"""The rubric's criteria thresholds: knowledge/criteria.yaml (data, read by path) merged with a team's overrides.

The thresholds are data that the knowledge base owns; the rubric reads the file by
its path, so tools/ never imports knowledge/.
"""
from __future__ import annotations

import copy
from functools import lru_cache
from pathlib import Path

import yaml

from tools.core.errors import InputError

# tools/scoring/criteria.py -> the repository (or site-packages) root, beside which knowledge/ sits
KNOWLEDGE_DIR = Path(__file__).resolve().parents[2] / "knowledge"
DEFAULT_CRITERIA = KNOWLEDGE_DIR / "criteria.yaml"


@lru_cache(maxsize=1)
def _default_criteria() -> dict:
    with open(DEFAULT_CRITERIA) as fh:
        return yaml.safe_load(fh)


def _merge(base: dict, override: dict, where: str = "") -> dict:
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            _merge(base[key], value, f"{where}{key}.")
        else:
            base[key] = value
    return base


def load_criteria(override_path: str | Path | None = None) -> dict:
    """Default thresholds, deep-copied, with a team's override file merged on top."""
    criteria = copy.deepcopy(_default_criteria())
    if override_path is None:
        return criteria
    path = Path(override_path)
    if not path.is_file():
        raise InputError(f"criteria file not found: {path}. Give a YAML file shaped like {DEFAULT_CRITERIA.name}.")
    try:
        with open(path) as fh:
            override = yaml.safe_load(fh) or {}
    except yaml.YAMLError as exc:
        raise InputError(f"criteria file {path} is not valid YAML: {exc}") from exc
    if not isinstance(override, dict):
        raise InputError(f"criteria file {path} must hold a mapping of test -> criterion -> settings")
    unknown = sorted(set(override) - set(criteria))
    if unknown:
        raise InputError(f"criteria file {path} names unknown tests/keys {unknown}; "
                         f"known: {sorted(criteria)}")
    criteria = _merge(criteria, override)
    criteria["source"] = str(path)
    return criteria
