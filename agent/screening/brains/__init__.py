"""Brains: who decides the next tool call. Each is a smolagents Model.

  protocol  (default) deterministic: follows agent/screening/protocol.py exactly, no weights.
  qwen3-vl  Qwen3-VL from a local path through transformers (agent/screening/brains/qwen_vl.py).
  remote    any OpenAI-compatible chat-completions server (agent/screening/brains/remote.py).
"""
from __future__ import annotations

import importlib

from tools.core.errors import InputError

BRAINS: dict[str, str] = {
    "protocol": "agent.screening.brains.protocol:ProtocolBrain",
    "qwen3-vl": "agent.screening.brains.qwen_vl:QwenVLBrain",
    "remote": "agent.screening.brains.remote:RemoteBrain",
}


def make_brain(name: str, **options):
    """Build the named brain; options: model_path (qwen3-vl), url and model (remote)."""
    if name not in BRAINS:
        raise InputError(f"unknown brain {name!r}; choose one of: {', '.join(BRAINS)}")
    module_name, cls_name = BRAINS[name].split(":")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name == module_name:
            raise InputError(f"the {name} brain is not available in this build; use --brain protocol") from exc
        raise
    return getattr(module, cls_name)(**options)
