"""Qwen3-VL-Embedding loading and pooling, on a tiny random-weight Qwen3-VL built here.

The model, tokenizer and processor are made from configs (no download), saved
with save_pretrained to a temporary folder and loaded back through
index.embedders.qwen3vl.Qwen3VLEmbedder, exactly as a real local checkpoint is.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

SPECIAL = ["<|endoftext|>", "<|im_start|>", "<|im_end|>", "<|vision_start|>", "<|vision_end|>",
           "<|image_pad|>", "<|video_pad|>"]
WORDS = ["[UNK]", "system", "user", "assistant", "Represent", "the", "user's", "input.", "deep", "squat",
         "heels", "rise", "knee", "valgus", "caves", "in"]
TEMPLATE = (
    "{% for message in messages %}<|im_start|>{{ message['role'] }}\n"
    "{% if message['content'] is string %}{{ message['content'] }}{% else %}"
    "{% for c in message['content'] %}{% if c['type'] == 'image' %}<|vision_start|><|image_pad|><|vision_end|>"
    "{% elif c['type'] == 'text' %}{{ c['text'] }}{% endif %}{% endfor %}{% endif %}<|im_end|>\n{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}")


def _tiny_qwen3vl(folder: Path, with_lm_head: bool):
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import (PreTrainedTokenizerFast, Qwen3VLConfig, Qwen3VLForConditionalGeneration,
                              Qwen3VLModel, Qwen3VLProcessor)
    from transformers.models.qwen2_vl.image_processing_qwen2_vl import Qwen2VLImageProcessor
    from transformers.models.qwen3_vl.video_processing_qwen3_vl import Qwen3VLVideoProcessor

    vocab = {w: i for i, w in enumerate(WORDS + SPECIAL)}
    tok = Tokenizer(models.WordLevel(vocab=vocab, unk_token="[UNK]"))
    tok.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    tok.add_special_tokens(SPECIAL)
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=tok, unk_token="[UNK]", pad_token="<|endoftext|>",
                                        eos_token="<|im_end|>")
    image_processor = Qwen2VLImageProcessor(patch_size=16, temporal_patch_size=2, merge_size=2,
                                            min_pixels=32 * 32, max_pixels=64 * 64,
                                            image_mean=[0.5] * 3, image_std=[0.5] * 3)
    processor = Qwen3VLProcessor(image_processor=image_processor, tokenizer=tokenizer,
                                 video_processor=Qwen3VLVideoProcessor(patch_size=16, temporal_patch_size=2,
                                                                       merge_size=2),
                                 chat_template=TEMPLATE)
    config = Qwen3VLConfig(
        text_config=dict(vocab_size=len(vocab), hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                         num_attention_heads=4, num_key_value_heads=2, head_dim=8,
                         rope_parameters={"rope_type": "default", "rope_theta": 10000.0, "mrope_section": [2, 1, 1]},
                         pad_token_id=vocab["<|endoftext|>"]),
        vision_config=dict(depth=2, hidden_size=32, intermediate_size=64, num_heads=2, patch_size=16,
                           spatial_merge_size=2, temporal_patch_size=2, out_hidden_size=32,
                           num_position_embeddings=64, deepstack_visual_indexes=[0]),
        image_token_id=vocab["<|image_pad|>"], video_token_id=vocab["<|video_pad|>"],
        vision_start_token_id=vocab["<|vision_start|>"], vision_end_token_id=vocab["<|vision_end|>"])
    torch.manual_seed(0)
    model = (Qwen3VLForConditionalGeneration(config) if with_lm_head else Qwen3VLModel(config)).eval()
    model.save_pretrained(folder)
    processor.save_pretrained(folder)
    return model.model if with_lm_head else model, processor


def _frames(seed: int, n: int = 2) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [rng.integers(0, 256, (48, 64, 3), dtype=np.uint8) for _ in range(n)]


def test_pool_last_token_picks_last_real_token():
    from index.embedders.qwen3vl import pool_last_token
    hidden = torch.arange(2 * 4 * 3, dtype=torch.float32).reshape(2, 4, 3)
    right = torch.tensor([[1, 1, 0, 0], [1, 1, 1, 1]])
    left = torch.tensor([[0, 0, 1, 1], [1, 1, 1, 1]])
    assert torch.equal(pool_last_token(hidden, right), torch.stack([hidden[0, 1], hidden[1, 3]]))
    assert torch.equal(pool_last_token(hidden, left), torch.stack([hidden[0, 3], hidden[1, 3]]))


@pytest.mark.parametrize("with_lm_head", [True, False], ids=["checkpoint-with-prefix", "bare-model"])
def test_tiny_qwen3vl_loads_and_pools_like_the_reference(tmp_path, with_lm_head):
    from index.embedders.qwen3vl import MultimodalItem, Qwen3VLEmbedder
    reference, processor = _tiny_qwen3vl(tmp_path, with_lm_head)
    emb = Qwen3VLEmbedder(tmp_path, batch_size=8)
    assert emb.dim == 32 and emb.version.startswith(tmp_path.name)

    items = [MultimodalItem(text="deep squat heels rise", frames=_frames(0)),
             MultimodalItem(text="knee valgus"),                       # much shorter: padded in the batch
             MultimodalItem(frames=_frames(1, 1))]
    batch = emb.embed(items)
    assert batch.shape == (3, 32)
    assert np.allclose(np.linalg.norm(batch, axis=1), 1.0, atol=1e-5)

    # each row equals the same item embedded alone (padding never leaks into the pooled token)
    alone = np.concatenate([emb.embed([it]) for it in items])
    assert np.allclose(batch, alone, atol=1e-4)

    # and equals the reference: the in-memory model's hidden state at the last token, normalised
    conv, images = emb._conversation(items[0])
    text = processor.apply_chat_template([conv], add_generation_prompt=True, tokenize=False)
    inputs = processor(text=text, images=images, return_tensors="pt")
    with torch.inference_mode():
        ref = reference(**inputs).last_hidden_state[0, -1].numpy()
    assert np.allclose(batch[0], ref / np.linalg.norm(ref), atol=1e-4)

    # text and keyframes both matter
    assert not np.allclose(batch[0], emb.embed([MultimodalItem(text="deep squat heels rise")])[0], atol=1e-3)
    assert emb.embed(["knee valgus"]).shape == (1, 32)


def test_missing_model_folder_is_backend_unavailable(tmp_path):
    from index.embedders.qwen3vl import Qwen3VLEmbedder
    from tools.core.errors import BackendUnavailable
    with pytest.raises(BackendUnavailable, match="config.json"):
        Qwen3VLEmbedder(tmp_path / "nowhere")
