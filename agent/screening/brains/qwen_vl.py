"""The qwen3-vl brain: Qwen3-VL from a local folder through transformers, choosing the tool calls itself.

Loads the checkpoint with AutoProcessor + Qwen3VLForConditionalGeneration (or
the MoE class for Qwen3-VL-30B-A3B) from `model_path` with
HF_HUB_OFFLINE=1 and local_files_only: nothing is downloaded. Each agent step
renders the conversation (system rules, the request, keyframes after
check_video, every tool result so far) through the checkpoint's own chat
template with the tools' JSON schemas, generates greedily, and reads the
Qwen-style `<tool_call>` blocks it writes (agent.screening.brains.vlm_base).

Device: `device="auto"` takes CUDA when present, else CPU (logged); dtype
bfloat16 on CUDA, float32 on CPU unless told. An 8B model on CPU is slow
(minutes per step): use a GPU or the remote brain.
"""
from __future__ import annotations

import hashlib
import logging
import os
from pathlib import Path

from agent.screening.brains.vlm_base import ChatBrain
from tools.core.errors import InputError

log = logging.getLogger(__name__)

HOW_TO_GET = ("give --brain-model-path DIR, a local folder holding a Qwen3-VL checkpoint (config.json, "
              "*.safetensors, tokenizer and chat template), fetched beforehand, e.g. "
              "`huggingface-cli download Qwen/Qwen3-VL-8B-Instruct --local-dir DIR`; FormScout never downloads")
PROVENANCE_FILES = ("config.json", "generation_config.json", "model.safetensors.index.json", "tokenizer.json",
                    "chat_template.json", "chat_template.jinja", "preprocessor_config.json")


def check_model_path(model_path: str | os.PathLike | None) -> Path:
    """The checkpoint folder, or an InputError that says what to do."""
    if not model_path:
        raise InputError(f"the qwen3-vl brain needs a model: {HOW_TO_GET}")
    path = Path(model_path).expanduser()
    if not path.exists():
        raise InputError(f"Qwen3-VL model folder not found: {path}; {HOW_TO_GET}")
    if not path.is_dir() or not (path / "config.json").is_file():
        raise InputError(f"{path} is not a model folder (no config.json); {HOW_TO_GET}")
    if not any(path.glob("*.safetensors")) and not any(path.glob("*.bin")):
        raise InputError(f"{path} holds no weights (*.safetensors); {HOW_TO_GET}")
    return path


def model_provenance(path: Path) -> dict:
    """sha256 of the small files that pin a checkpoint (config, index, tokenizer, template) + weight file sizes.

    The weights themselves (16 GB for 8B) are identified by name and size, not hashed on every run.
    """
    files = {}
    for name in PROVENANCE_FILES:
        f = path / name
        if f.is_file():
            files[name] = hashlib.sha256(f.read_bytes()).hexdigest()
    weights = {f.name: f.stat().st_size for f in sorted(path.glob("*.safetensors"))}
    return {"model_path": str(path), "file_sha256": files, "weight_files_bytes": weights}


def pick_device(device: str) -> str:
    import torch
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise InputError(f"device {device!r} asked for, but no CUDA GPU is available; use --device cpu")
    return device


class QwenVLBrain(ChatBrain):
    """Qwen3-VL (any size) from a local folder; see the module docstring."""

    def __init__(self, model_path: str = "", device: str = "auto", dtype: str = "auto", max_new_tokens: int = 1024,
                 n_keyframes: int = 4, keyframe_max_side_px: int = 448):
        path = check_model_path(model_path)
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        import torch
        from transformers import AutoConfig, AutoProcessor

        try:
            config = AutoConfig.from_pretrained(path, local_files_only=True)
        except (OSError, ValueError, KeyError) as exc:
            raise InputError(f"cannot read the model config in {path} ({exc}); {HOW_TO_GET}") from exc
        model_cls = _model_class(config.model_type, path)
        self.device = pick_device(device)
        torch_dtype = {"auto": torch.bfloat16 if self.device.startswith("cuda") else torch.float32,
                       "bfloat16": torch.bfloat16, "float16": torch.float16, "float32": torch.float32}.get(dtype)
        if torch_dtype is None:
            raise InputError(f"dtype must be auto, bfloat16, float16 or float32 (got {dtype!r})")
        log.info("qwen3-vl brain: %s (%s) on %s, %s, max %d new tokens", path.name, config.model_type,
                 self.device, str(torch_dtype).replace("torch.", ""), max_new_tokens)
        self.model = model_cls.from_pretrained(path, local_files_only=True, dtype=torch_dtype).to(self.device).eval()
        self.processor = AutoProcessor.from_pretrained(path, local_files_only=True)
        if not getattr(self.processor, "chat_template", None):
            raise InputError(f"{path} has no chat template (chat_template.json / .jinja); the brain needs the "
                             "checkpoint's own template to write tool calls")
        self.max_new_tokens = int(max_new_tokens)
        super().__init__(model_id=f"qwen3-vl:{path.name}", n_keyframes=n_keyframes,
                         keyframe_max_side_px=keyframe_max_side_px)
        self.provenance = dict(model_provenance(path), model_type=config.model_type, device=self.device,
                               dtype=str(torch_dtype).replace("torch.", ""), max_new_tokens=self.max_new_tokens)

    def _generate_text(self, chat: list[dict], tools: list[dict] | None) -> tuple[str, int, int]:
        """(text, prompt tokens, new tokens) for a chat through the checkpoint's template; greedy."""
        import torch
        inputs = self.processor.apply_chat_template(chat, tools=tools, add_generation_prompt=True, tokenize=True,
                                                    return_dict=True, return_tensors="pt")
        inputs = inputs.to(self.model.device)
        n_prompt = int(inputs["input_ids"].shape[1])
        with torch.inference_mode():
            out = self.model.generate(**inputs, max_new_tokens=self.max_new_tokens, do_sample=False)
        new_tokens = out[0, n_prompt:]
        return self.processor.decode(new_tokens, skip_special_tokens=True), n_prompt, int(new_tokens.shape[0])

    def generate(self, messages, stop_sequences=None, response_format=None, tools_to_call_from=None, **kwargs):
        from smolagents.models import TokenUsage, get_tool_json_schema

        chat = self.build_chat(messages)
        tools = [get_tool_json_schema(t) for t in tools_to_call_from] if tools_to_call_from else None
        text, n_prompt, n_new = self._generate_text(chat, tools)
        n_images = sum(1 for m in chat for c in m["content"] if c.get("type") == "image")
        return self.to_chat_message(text, TokenUsage(input_tokens=n_prompt, output_tokens=n_new),
                                    raw={"prompt_tokens": n_prompt, "images": n_images},
                                    with_tools=bool(tools_to_call_from))

    def complete(self, system: str, user: str) -> str:
        """One plain answer (no tools), e.g. to word a chat answer."""
        chat = [{"role": "system", "content": [{"type": "text", "text": system}]},
                {"role": "user", "content": [{"type": "text", "text": user}]}]
        return self._generate_text(chat, None)[0]


def _model_class(model_type: str, path: Path):
    if model_type == "qwen3_vl":
        from transformers import Qwen3VLForConditionalGeneration
        return Qwen3VLForConditionalGeneration
    if model_type == "qwen3_vl_moe":
        from transformers import Qwen3VLMoeForConditionalGeneration
        return Qwen3VLMoeForConditionalGeneration
    raise InputError(f"{path} holds a {model_type!r} model, not Qwen3-VL; give a Qwen3-VL checkpoint folder")
