"""Qwen3-VL-Embedding: one vector for keyframes + text, from a local model folder.

Qwen3-VL-Embedding (2B / 8B) is a Qwen3-VL whose embedding is the last hidden
state of the last real (non-padding) token, L2-normalised, for a chat-formatted
input: a system turn with the instruction ("Represent the user's input."), a
user turn with the images then the text, and the assistant prompt. This
module does exactly that with transformers' Qwen3VLModel and the folder's own
processor (tokenizer, image processor, chat template). Weights load only from
the given folder (`local_files_only=True`): nothing is ever downloaded.

Shapes: input_ids [B, L]; last_hidden_state [B, L, H]; embedding [B, H] with
H = text_config.hidden_size (2048 for the 2B model, 4096 for the 8B).
Padding is on the right, so the last real token of row b is at
sum(attention_mask[b]) - 1 (pooling also works for left padding: it takes the
last position whose mask is 1).
"""
from __future__ import annotations

import hashlib
import json
import logging
import os
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Sequence

import numpy as np

from index.embedders.base import l2_normalise
from tools.core.errors import BackendUnavailable, InputError
from tools.video.sampling import spread_frame_indices

log = logging.getLogger(__name__)
DEFAULT_INSTRUCTION = "Represent the user's input."


@dataclass
class MultimodalItem:
    """What one multimodal vector embeds: keyframes (RGB uint8 [H, W, 3]) and/or text."""

    text: str | None = None
    frames: Sequence[np.ndarray] | None = None


def keyframes_from_video(path: str | Path, n: int = 4) -> list[np.ndarray]:
    """n evenly spaced upright RGB frames of a video (tools.video.clip)."""
    from tools.video.clip import probe_video, read_frame
    info = probe_video(path)
    return [read_frame(path, i) for i in spread_frame_indices(info.n_frames, n)]


def pool_last_token(hidden: "torch.Tensor", attention_mask: "torch.Tensor") -> "torch.Tensor":
    """[B, L, H] -> [B, H]: the hidden state at the last position whose mask is 1."""
    import torch
    length = attention_mask.shape[1]
    last = length - 1 - attention_mask.flip(dims=[1]).to(torch.long).argmax(dim=1)
    return hidden[torch.arange(hidden.shape[0], device=hidden.device), last]


class Qwen3VLEmbedder:
    """Qwen3-VL-Embedding from a local folder (config.json, weights, tokenizer, processor files)."""

    name = "qwen3-vl-embedding"
    modality = "multimodal"

    def __init__(self, model_path: str | Path, device: str = "cpu", dtype: str = "float32",
                 instruction: str = DEFAULT_INSTRUCTION, max_frames: int = 8, max_length: int = 8192,
                 batch_size: int = 4) -> None:
        self.model_path = Path(model_path).expanduser()
        if not (self.model_path / "config.json").is_file():
            raise BackendUnavailable(f"no Qwen3-VL-Embedding model at {self.model_path} (config.json missing); "
                                     "download Qwen3-VL-Embedding-2B/8B to a local folder and pass its path")
        self.device = device
        self.dtype = dtype
        self.instruction = instruction
        self.max_frames = max_frames
        self.max_length = max_length
        self.batch_size = batch_size
        self._model = None
        self._processor = None

    # ----- identity ------------------------------------------------------------------------
    @cached_property
    def _config(self) -> dict:
        return json.loads((self.model_path / "config.json").read_text())

    @cached_property
    def version(self) -> str:
        """Folder name + hash of the config and the weight files' names and sizes."""
        weights = sorted((p.name, p.stat().st_size) for p in self.model_path.glob("*.safetensors"))
        blob = json.dumps({"config": self._config, "weights": weights, "instruction": self.instruction},
                          sort_keys=True).encode()
        return f"{self.model_path.name}-{hashlib.sha256(blob).hexdigest()[:10]}"

    @cached_property
    def dim(self) -> int:
        text = self._config.get("text_config", self._config)
        return int(text["hidden_size"])

    # ----- loading ----------------------------------------------------------------------------
    def load(self):
        """(model, processor), loaded once from the local folder."""
        if self._model is None:
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
            try:
                import torch
                from transformers import AutoProcessor, Qwen3VLModel
            except ImportError as exc:
                raise BackendUnavailable(f"Qwen3-VL-Embedding needs torch and transformers >= 4.57: {exc}") from exc
            log.info("qwen3-vl-embedding: loading %s on %s (%s)", self.model_path, self.device, self.dtype)
            self._processor = AutoProcessor.from_pretrained(self.model_path, local_files_only=True)
            self._processor.tokenizer.padding_side = "right"
            model = Qwen3VLModel.from_pretrained(self.model_path, local_files_only=True,
                                                 dtype=getattr(torch, self.dtype))
            self._model = model.to(self.device).eval()
        return self._model, self._processor

    # ----- embedding ---------------------------------------------------------------------------
    def _conversation(self, item: MultimodalItem) -> tuple[list[dict], list]:
        from PIL import Image
        frames = list(item.frames or [])[: self.max_frames]
        images = [Image.fromarray(np.asarray(f, dtype=np.uint8)) for f in frames]
        content: list[dict] = [{"type": "image", "image": im} for im in images]
        if item.text:
            content.append({"type": "text", "text": item.text})
        if not content:
            raise InputError("an item to embed needs keyframes or text")
        return [{"role": "system", "content": [{"type": "text", "text": self.instruction}]},
                {"role": "user", "content": content}], images

    def embed(self, items: Sequence[MultimodalItem | str]) -> np.ndarray:
        """float32[N, dim], L2-normalised."""
        items = [MultimodalItem(text=i) if isinstance(i, str) else i for i in items]
        if not items:
            return np.zeros((0, self.dim), np.float32)
        import torch
        model, processor = self.load()
        out = []
        for start in range(0, len(items), self.batch_size):
            convs, images = zip(*(self._conversation(i) for i in items[start:start + self.batch_size]))
            texts = processor.apply_chat_template(list(convs), add_generation_prompt=True, tokenize=False)
            flat_images = [im for ims in images for im in ims]
            inputs = processor(text=texts, images=flat_images or None, padding=True, truncation=True,
                               max_length=self.max_length, return_tensors="pt")
            inputs = {k: v.to(self.device) for k, v in inputs.items()}
            with torch.inference_mode():
                hidden = model(**inputs).last_hidden_state  # [B, L, H]
            pooled = pool_last_token(hidden, inputs["attention_mask"])  # [B, H]
            out.append(pooled.float().cpu().numpy())
        return l2_normalise(np.concatenate(out))
