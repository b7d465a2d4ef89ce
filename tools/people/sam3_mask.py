"""SAM 3 athlete masks: which person in a keyframe is the athlete, as a mask and a box.

SAM 3 (PyPI `sam3`, Meta's "Segment Anything with Concepts") finds every
instance of a text concept in an image. FormScout asks it for "person" once per
clip, on one keyframe, then picks the athlete among the instances:

  box given    the instance whose mask box has the highest IoU with the box
               (none overlapping at least `min_iou` -> "the box contains nobody")
  point given  an instance whose mask contains the point (several -> the highest
               score, flagged ambiguous; none -> "the point is on nobody")
  both         instances containing the point, then the highest IoU with the box
  neither      the largest mask (flagged ambiguous when the runner-up is nearly
               as large: "two people of similar size")

The choice (`choose_athlete_mask`) is a pure function over instance masks, so it is
tested without the model. Output: `AthleteMask` with the mask (bool[H, W]), its
box (x0, y0, x1, y1 in keyframe pixels; pixel edges, so x1 = last column + 1),
the SAM 3 score, how many people were found, the rule that chose, a reason a
physio can read, and the keyframe index when it came from a clip.

Loading (`load_sam3`): weights only ever come from a local file (the `sam3.pt`
of facebookresearch/sam3); a hub id or URL is refused with an InputError, and
the package's own hub download is switched off (`load_from_HF=False`).
`allow_random_weights=True` builds the same network with random weights, for
tests and timing only. sam3 0.1.4 needs a few fixes to build and run off a CUDA
GPU; each one below is applied only while SAM 3 code runs, and undone after:

  1. PositionEmbeddingSine precomputes its cache with `device="cuda"` in
     __init__ (sam3/model/position_encoding.py; upstream issue
     facebookresearch/sam3#587). The cache exists only to help torch.compile,
     which FormScout does not use: during the build it is left empty and fills
     itself on the first forward, on the model's own device. Same values.
  2. TransformerDecoder builds its box-bias coordinates with `device="cuda"` in
     __init__ (sam3/model/decoder.py; issue #550): during the build
     `_get_coords` is redirected to the requested device.
  3. SequenceGeometryEncoder._encode_boxes calls `Tensor.pin_memory()` on every
     forward (even with no box prompt). Pinning is only a host-to-GPU copy
     optimisation, and torch without a CUDA driver raises on it; when CUDA is
     not available, `Tensor.pin_memory` returns the tensor itself while
     one SAM 3 call runs. This is the one process-wide patch (a method of
     torch.Tensor cannot be patched for one module); on a machine without CUDA
     pin_memory can only fail, so no other result changes.
  4. The BPE vocabulary the builder expects (sam3/../assets/
     bpe_simple_vocab_16e6.txt.gz) is not in the wheel; the same OpenAI CLIP
     vocabulary ships in open-clip-torch, whose file is passed as `bpe_path`
     (found without importing open_clip), unless the caller gives one.
  5. TextTransformer allocates `positional_embedding` and `text_projection`
     with torch.empty (uninitialised memory, possibly NaN): a checkpoint
     overwrites them; a random-weight build initialises them as open_clip does
     (normal, std 0.01 and width**-0.5). Every parameter is then checked finite.

Cost on 2 CPU cores (benchmarks/bench_sam3.py, docs/BACKENDS.md): about 100
CPU-seconds per keyframe (every image is resized to 1008 px), so about a minute
on two idle cores; a build of 840 M parameters, 4.9 GB peak memory. On a GPU
pass device="cuda". Install (sam3's own
metadata pins huggingface-hub<2 and would downgrade the pinned set, hence
--no-deps): see SAM3_INSTALL_HINT.
"""
from __future__ import annotations

import contextlib
import dataclasses
import importlib.util
import logging
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

import numpy as np

from tools.core.boxes import box_iou, mask_to_box
from tools.core.errors import BackendUnavailable, InputError

log = logging.getLogger(__name__)

SAM3_INSTALL_HINT = ("pip install --no-deps sam3==0.1.4 open-clip-torch==3.3.0 && "
                     "pip install iopath einops timm pycocotools ftfy")
SAM3_RESOLUTION_PX = 1008          # the ViT input size sam3 0.1.4 is built for (images are resized to it)
DEFAULT_MIN_SCORE = 0.5            # SAM 3's own default confidence threshold
DEFAULT_MIN_IOU = 0.1              # below this, a candidate does not "match" the user's box
AMBIGUOUS_IOU_GAP = 0.05           # top-two IoUs closer than this -> two equally likely athletes
AMBIGUOUS_AREA_RATIO = 0.8         # runner-up mask at least this share of the largest -> similar size
BPE_FILENAME = "bpe_simple_vocab_16e6.txt.gz"
_HUB_PREFIXES = ("hf://", "hf_hub:", "http://", "https://", "s3://", "gs://")
_HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")

Box = tuple[float, float, float, float]


@dataclass
class AthleteMask:
    """The athlete chosen among SAM 3's person instances on one keyframe.

    mask: bool[H, W] (None when nobody was chosen); box_xyxy: (x0, y0, x1, y1)
    px on the keyframe, pixel edges; score: SAM 3 confidence 0-1; n_candidates:
    people found (non-empty masks); chosen_by: "box_iou" | "point" |
    "point+box_iou" | "largest" | "none"; reason: one line a physio can read;
    ambiguous: another person was (nearly) as likely; iou_with_box: IoU of the
    chosen box with the user's box, when one was given; candidate_boxes_xyxy /
    candidate_scores: every person found (non-empty masks), so a caller or the
    app can show them and a test can check the rule.
    """

    mask: np.ndarray | None
    box_xyxy: Box | None
    score: float | None
    n_candidates: int
    chosen_by: str
    reason: str
    ambiguous: bool = False
    iou_with_box: float | None = None
    keyframe_index: int | None = None
    candidate_boxes_xyxy: tuple[Box, ...] = ()
    candidate_scores: tuple[float, ...] = ()
    provenance: dict[str, Any] = field(default_factory=dict)

    @property
    def found(self) -> bool:
        return self.mask is not None

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable summary (the mask itself is summarised by its area)."""
        return {
            "found": self.found,
            "athlete_box_xyxy_px": None if self.box_xyxy is None else [round(v, 1) for v in self.box_xyxy],
            "mask_area_px": None if self.mask is None else int(self.mask.sum()),
            "score": None if self.score is None else round(self.score, 4),
            "n_candidates": self.n_candidates,
            "chosen_by": self.chosen_by,
            "reason": self.reason,
            "ambiguous": self.ambiguous,
            "iou_with_box": None if self.iou_with_box is None else round(self.iou_with_box, 4),
            "keyframe_index": self.keyframe_index,
            "candidates": [{"box_xyxy_px": [round(v, 1) for v in b], "score": round(s, 4)}
                           for b, s in zip(self.candidate_boxes_xyxy, self.candidate_scores)],
            "provenance": dict(self.provenance),
        }


@dataclass
class Sam3Model:
    """A loaded SAM 3 image model with its processor and where its weights came from."""

    model: Any                      # sam3.model.sam3_image.Sam3Image
    processor: Any                  # sam3.model.sam3_image_processor.Sam3Processor
    device: str
    checkpoint: str | None          # local path, or None for a random-weight build
    random_weights: bool
    build_s: float
    versions: dict[str, str]

    def provenance(self) -> dict[str, Any]:
        return {"backend": "sam3", "checkpoint": self.checkpoint, "random_weights": self.random_weights,
                "device": self.device, "versions": dict(self.versions)}


# ---------------------------------------------------------------- pure checks

def _iou(a: Box, b: Box) -> float:
    """IoU of two xyxy boxes (tools.core.boxes.box_iou for one pair)."""
    return float(box_iou(a, b)[0, 0])


def validate_box(box_xyxy: Any, image_size: tuple[int, int]) -> Box:
    """User box -> (x0, y0, x1, y1) clipped to the image (w, h); InputError when it is not a box on the image."""
    w, h = image_size
    try:
        vals = [float(v) for v in box_xyxy]
    except (TypeError, ValueError) as exc:
        raise InputError(f"athlete box {box_xyxy!r} is not four numbers x0,y0,x1,y1 (pixels)") from exc
    if len(vals) != 4 or not all(np.isfinite(vals)):
        raise InputError(f"athlete box {box_xyxy!r} must be four finite numbers x0,y0,x1,y1 (pixels)")
    x0, y0, x1, y1 = vals
    if x1 <= x0 or y1 <= y0:
        raise InputError(f"athlete box {box_xyxy!r} is empty: x1 must exceed x0 and y1 exceed y0")
    clipped = (max(0.0, x0), max(0.0, y0), min(float(w), x1), min(float(h), y1))
    if clipped[2] <= clipped[0] or clipped[3] <= clipped[1]:
        raise InputError(f"athlete box {box_xyxy!r} lies outside the {w}x{h} keyframe; "
                         "give a box in the keyframe's pixels")
    return clipped


def validate_point(point_xy: Any, image_size: tuple[int, int]) -> tuple[float, float]:
    """User point -> (x, y) px; InputError when it is not a point on the image."""
    w, h = image_size
    try:
        x, y = (float(v) for v in point_xy)
    except (TypeError, ValueError) as exc:
        raise InputError(f"athlete point {point_xy!r} is not two numbers x,y (pixels)") from exc
    if not (np.isfinite(x) and np.isfinite(y) and 0 <= x < w and 0 <= y < h):
        raise InputError(f"athlete point {point_xy!r} is not on the {w}x{h} keyframe; click on the athlete")
    return x, y


def choose_athlete_mask(masks: np.ndarray, scores: np.ndarray, *, box_xyxy: Any = None, point_xy: Any = None,
                   min_iou: float = DEFAULT_MIN_IOU) -> AthleteMask:
    """Pick the athlete among person instance masks bool[N, H, W] with scores float[N] (see module docstring).

    Empty masks are not people and are dropped first. Never raises for "nobody
    matches": the result has mask None, chosen_by "none" and the reason.
    InputError only for a box or point that is not on the image.
    """
    masks = np.asarray(masks, dtype=bool)
    scores = np.asarray(scores, dtype=np.float64).reshape(-1)
    if masks.ndim != 3 or masks.shape[0] != scores.shape[0]:
        raise ValueError(f"masks must be [N, H, W] with N scores, got {masks.shape} and {scores.shape}")
    h, w = masks.shape[1:]
    box = None if box_xyxy is None else validate_box(box_xyxy, (w, h))
    point = None if point_xy is None else validate_point(point_xy, (w, h))

    keep = [i for i in range(masks.shape[0]) if masks[i].any()]
    boxes = {i: mask_to_box(masks[i]) for i in keep}
    n = len(keep)
    found = {"candidate_boxes_xyxy": tuple(boxes[i] for i in keep),
             "candidate_scores": tuple(float(scores[i]) for i in keep)}
    if n == 0:
        return AthleteMask(None, None, None, 0, "none",
                           "nobody found: SAM 3 returned no person above its score threshold")

    def result(i: int, chosen_by: str, reason: str, ambiguous: bool = False) -> AthleteMask:
        iou = None if box is None else _iou(boxes[i], box)
        return AthleteMask(masks[i].copy(), boxes[i], float(scores[i]), n, chosen_by, reason, ambiguous, iou,
                           **found)

    pool = keep
    if point is not None:
        px, py = int(point[0]), int(point[1])
        pool = [i for i in keep if masks[i, py, px]]
        if not pool:
            return AthleteMask(None, None, None, n, "none",
                               f"the point ({point[0]:.0f}, {point[1]:.0f}) is on nobody: "
                               f"none of the {n} people found covers it; click on the athlete", **found)
        if box is None:
            best = max(pool, key=lambda i: scores[i])
            if len(pool) > 1:
                return result(best, "point", f"{len(pool)} people cover the point; chose the most confident "
                                             f"(score {scores[best]:.2f})", ambiguous=True)
            return result(best, "point", f"the only person covering the point (of {n} found)")
    if box is not None:
        ious = sorted(((_iou(boxes[i], box), i) for i in pool), reverse=True)
        best_iou, best = ious[0]
        where = " that cover the point" if point is not None else ""
        chosen_by = "point+box_iou" if point is not None else "box_iou"
        if best_iou < min_iou:
            return AthleteMask(None, None, None, n, "none",
                               f"the box ({box[0]:.0f}, {box[1]:.0f}, {box[2]:.0f}, {box[3]:.0f}) contains nobody: "
                               f"best overlap IoU {best_iou:.2f} < {min_iou:.2f} among the {len(pool)} people "
                               f"found{where}; draw the box around the athlete", **found)
        if len(ious) > 1 and ious[1][0] >= min_iou and best_iou - ious[1][0] < AMBIGUOUS_IOU_GAP:
            return result(best, chosen_by, f"two people match the box almost equally (IoU {best_iou:.2f} vs "
                                           f"{ious[1][0]:.2f}); chose the higher", ambiguous=True)
        covers = ", covers the point" if point is not None else ""
        return result(best, chosen_by, f"best match to the box (IoU {best_iou:.2f}{covers}; {n} people found)")
    areas = sorted(((int(masks[i].sum()), i) for i in keep), reverse=True)
    best_area, best = areas[0]
    if len(areas) > 1 and areas[1][0] >= AMBIGUOUS_AREA_RATIO * best_area:
        return result(best, "largest", f"no box or point given; two people of similar size "
                                       f"({best_area} vs {areas[1][0]} px): chose the larger", ambiguous=True)
    return result(best, "largest", f"no box or point given; chose the largest of {n} people ({best_area} px)")


# ---------------------------------------------------------------- loading

def require_sam3() -> None:
    if importlib.util.find_spec("sam3") is None:
        raise BackendUnavailable(f"SAM 3 is not installed: {SAM3_INSTALL_HINT}")


def find_bpe_vocab() -> Path:
    """The CLIP BPE vocabulary file shipped by open-clip-torch (located without importing open_clip)."""
    spec = importlib.util.find_spec("open_clip")
    for root in (spec.submodule_search_locations or []) if spec else []:
        candidate = Path(root) / BPE_FILENAME
        if candidate.is_file():
            return candidate
    raise BackendUnavailable(f"SAM 3 needs the BPE vocabulary {BPE_FILENAME}, which its wheel lacks: install "
                             "open-clip-torch (pip install --no-deps open-clip-torch==3.3.0) or pass bpe_path")


def check_local_checkpoint(checkpoint: str | Path) -> Path:
    text = str(checkpoint)
    path = Path(text).expanduser()
    if path.is_file():
        return path
    if text.lower().startswith(_HUB_PREFIXES) or (_HUB_ID.match(text) and not path.exists()):
        raise InputError(f"SAM 3 checkpoint {text!r} looks like a model-hub name or URL; FormScout never "
                         "downloads weights: download sam3.pt yourself (facebook/sam3, after accepting its "
                         "licence) and pass the local file path")
    raise InputError(f"SAM 3 checkpoint {text!r} is not a file; pass the local path to sam3.pt")


@contextlib.contextmanager
def _build_patches(target_device: str) -> Iterator[None]:
    """Fixes 1 and 2 of the module docstring, only while the network is built."""
    from unittest import mock

    from sam3.model.decoder import TransformerDecoder
    from sam3.model.position_encoding import PositionEmbeddingSine

    original_init = PositionEmbeddingSine.__init__
    original_coords = TransformerDecoder._get_coords

    def init_without_cuda_cache(self, *args, **kwargs):
        kwargs["precompute_resolution"] = None       # the cache fills on first forward, on the right device
        original_init(self, *args, **kwargs)

    def coords_on_device(H, W, device=None):  # noqa: N803 (sam3's names); the hard-coded "cuda" is ignored
        return original_coords(H, W, target_device)

    with mock.patch.object(PositionEmbeddingSine, "__init__", init_without_cuda_cache), \
            mock.patch.object(TransformerDecoder, "_get_coords", staticmethod(coords_on_device)):
        yield


@contextlib.contextmanager
def _inference_patches() -> Iterator[None]:
    """Fix 3 of the module docstring, only while one SAM 3 call runs and only without CUDA."""
    import torch

    if torch.cuda.is_available():
        yield
        return
    from unittest import mock

    with mock.patch.object(torch.Tensor, "pin_memory", lambda self, *args, **kwargs: self):
        yield


def _init_random_text_weights(model: Any) -> None:
    """Fix 5: the torch.empty parameters of the text transformer, as open_clip initialises them."""
    import torch
    from sam3.model.text_encoder_ve import TextTransformer

    for module in model.modules():
        if isinstance(module, TextTransformer):
            torch.nn.init.normal_(module.positional_embedding, std=0.01)
            if isinstance(module.text_projection, torch.nn.Parameter):
                torch.nn.init.normal_(module.text_projection, std=module.width ** -0.5)


def _load_state(model: Any, path: Path) -> None:
    """Read sam3.pt (weights only, no code) and load the detector's weights; InputError if it is not SAM 3's."""
    import torch

    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=True, mmap=True)
    except (RuntimeError, OSError, ValueError) as exc:
        raise InputError(f"SAM 3 checkpoint {path} cannot be read as PyTorch weights ({exc}); "
                         "pass the sam3.pt file of facebookresearch/sam3") from exc
    if isinstance(ckpt, dict) and isinstance(ckpt.get("model"), dict):
        ckpt = ckpt["model"]
    if not isinstance(ckpt, dict):
        raise InputError(f"SAM 3 checkpoint {path} holds no state dict; pass the sam3.pt file of facebookresearch/sam3")
    # sam3.pt stores the image model under "detector." (and the video tracker under "tracker.", unused here)
    state = {k.replace("detector.", "", 1): v for k, v in ckpt.items() if k.startswith("detector.")} or ckpt
    expected = set(model.state_dict())
    matched = expected & set(state)
    if len(matched) < 0.9 * len(expected):
        raise InputError(f"SAM 3 checkpoint {path} matches only {len(matched)} of the {len(expected)} weights "
                         "of the SAM 3 image model; pass the sam3.pt file of facebookresearch/sam3 "
                         "(not the transformers model.safetensors)")
    missing, _ = model.load_state_dict(state, strict=False)
    if missing:
        log.warning("SAM 3 checkpoint %s: %d weights missing, left as built: %s", path, len(missing), missing[:5])


def load_sam3(checkpoint: str | Path | None, device: str = "cpu", allow_random_weights: bool = False,
              *, bpe_path: str | Path | None = None, min_score: float = DEFAULT_MIN_SCORE,
              seed: int = 0) -> Sam3Model:
    """Build the SAM 3 image model and its processor from a local checkpoint (never downloads).

    checkpoint: local path to sam3.pt; None only with allow_random_weights=True
    (random weights: for tests and timing, its masks mean nothing). device:
    "cpu" (default, about a minute per keyframe on 2 cores) or "cuda"/"cuda:N".
    min_score: SAM 3 confidence below which an instance is dropped. seed: the
    random-weight seed (the global torch RNG is left untouched).
    """
    if checkpoint is None and not allow_random_weights:
        raise InputError("SAM 3 needs a checkpoint: pass the local path to sam3.pt (--sam3-checkpoint PATH); "
                         "FormScout never downloads weights")
    ckpt_path = None if checkpoint is None else check_local_checkpoint(checkpoint)
    require_sam3()
    bpe = Path(bpe_path) if bpe_path is not None else find_bpe_vocab()
    if not bpe.is_file():
        raise InputError(f"BPE vocabulary {bpe} is not a file; pass the path to {BPE_FILENAME}")
    import torch

    if str(device).startswith("cuda") and not torch.cuda.is_available():
        raise InputError(f"device {device!r} asked for, but torch sees no CUDA GPU here; use device='cpu'")
    import sam3
    from sam3 import build_sam3_image_model
    from sam3.model.sam3_image_processor import Sam3Processor

    t0 = time.perf_counter()
    with torch.random.fork_rng(devices=[]), _build_patches(str(device)):
        torch.manual_seed(seed)
        model = build_sam3_image_model(bpe_path=str(bpe), device="cpu", eval_mode=True, checkpoint_path=None,
                                       load_from_HF=False, enable_segmentation=True,
                                       enable_inst_interactivity=False, compile=False)
        if ckpt_path is None:
            _init_random_text_weights(model)
    if ckpt_path is not None:
        _load_state(model, ckpt_path)
    bad = [name for name, p in model.named_parameters() if not torch.isfinite(p).all()]
    if bad:
        raise InputError(f"SAM 3 weights hold NaN/inf in {len(bad)} tensors (e.g. {bad[0]}); "
                         "the checkpoint is damaged: download sam3.pt again")
    model = model.to(device).eval()
    processor = Sam3Processor(model, resolution=SAM3_RESOLUTION_PX, device=str(device), confidence_threshold=min_score)
    build_s = time.perf_counter() - t0
    versions = {"sam3": getattr(sam3, "__version__", "unknown"), "torch": torch.__version__}
    log.info("SAM 3 image model: %s weights, device %s, %d M parameters, input %d px, min score %.2f, built in %.1f s",
             "random" if ckpt_path is None else str(ckpt_path), device,
             sum(p.numel() for p in model.parameters()) // 1_000_000, SAM3_RESOLUTION_PX, min_score, build_s)
    return Sam3Model(model, processor, str(device), None if ckpt_path is None else str(ckpt_path),
                     ckpt_path is None, build_s, versions)


# ---------------------------------------------------------------- running

def detect_people(model: Sam3Model, frame_rgb: np.ndarray, prompt: str = "person") -> tuple[np.ndarray, np.ndarray]:
    """Every instance of `prompt` on one RGB uint8 frame [H, W, 3]: masks bool[N, H, W] and scores float[N]."""
    import torch

    frame = np.asarray(frame_rgb)
    if frame.ndim != 3 or frame.shape[2] != 3 or frame.dtype != np.uint8:
        raise InputError(f"keyframe must be an RGB uint8 image [H, W, 3], got {frame.dtype} {frame.shape}")
    if not prompt.strip():
        raise InputError("SAM 3 text prompt is empty; use e.g. 'person'")
    image = torch.from_numpy(np.ascontiguousarray(frame)).permute(2, 0, 1)   # [3, H, W] uint8, as set_image wants
    with _inference_patches():
        state = model.processor.set_image(image)
        state = model.processor.set_text_prompt(prompt=prompt, state=state)
    masks = state["masks"].squeeze(1).cpu().numpy().astype(bool)               # [N, H, W]
    scores = state["scores"].float().cpu().numpy()                             # [N]
    return masks, scores


def segment_athlete(model: Sam3Model, frame_rgb: np.ndarray, box_xyxy: Any = None, point_xy: Any = None,
                    prompt: str = "person", *, min_iou: float = DEFAULT_MIN_IOU) -> AthleteMask:
    """Run SAM 3 on one keyframe and choose the athlete (by box, point, or largest): see `choose_athlete_mask`."""
    frame = np.asarray(frame_rgb)
    if frame.ndim == 3:   # validate the user's box/point before a minute of SAM 3
        if box_xyxy is not None:
            validate_box(box_xyxy, (frame.shape[1], frame.shape[0]))
        if point_xy is not None:
            validate_point(point_xy, (frame.shape[1], frame.shape[0]))
    t0 = time.perf_counter()
    masks, scores = detect_people(model, frame, prompt)
    seconds = time.perf_counter() - t0
    chosen = choose_athlete_mask(masks, scores, box_xyxy=box_xyxy, point_xy=point_xy, min_iou=min_iou)
    log.info("SAM 3 '%s' on a %dx%d keyframe: %d people, %s (%s), %.1f s", prompt, frame.shape[1], frame.shape[0],
             chosen.n_candidates, chosen.chosen_by, chosen.reason, seconds)
    return dataclasses.replace(chosen, provenance={**model.provenance(), "prompt": prompt,
                                                   "seconds": round(seconds, 2)})


def segment_athlete_in_clip(model: Sam3Model, video_path: str | Path, keyframe_index: int = 0, box_xyxy: Any = None,
                            point_xy: Any = None, prompt: str = "person") -> AthleteMask:
    """`segment_athlete` on frame `keyframe_index` of a clip; the result carries the keyframe index."""
    from tools.video.clip import read_frame

    frame = read_frame(video_path, keyframe_index)
    chosen = segment_athlete(model, frame, box_xyxy=box_xyxy, point_xy=point_xy, prompt=prompt)
    return dataclasses.replace(chosen, keyframe_index=int(keyframe_index))
