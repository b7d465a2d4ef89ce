"""The learned second opinion: a small ST-GCN over the canonical 23-joint skeleton.

- graph.py     BONES -> spatial-partition adjacency [3, V, V]
- model.py     the network (N x C x T x V) with test, side and ordinal score heads
- data.py      normalisation, augmentation, labelled-clip dataset
- train.py     pretraining, LoRA fine-tuning (peft), checkpoints
- calibrate.py temperature scaling
- ood.py       out-of-distribution detector (Mahalanobis on the embedding), stored in the checkpoint
- metric.py    retrieval metric on the embedding (NCA: same test and score close), stored in the checkpoint
- infer.py     predict(skel) / embed(skel) for the agent and the index

The functions below are thin, lazily-importing entry points (torch is loaded
only when one is called), for callers such as index/embedders/registry.py.
"""
from __future__ import annotations

# Width of the committed checkpoint's motion embedding (the last ST-GCN block's channels;
# tests/tools/scoring/test_stgcn.py checks it against STGCNConfig and the committed checkpoint).
EMBEDDING_DIM = 64
# Width of its retrieval-metric embedding (tools/scoring/stgcn/metric.py DEFAULT_COMPONENTS).
METRIC_EMBEDDING_DIM = 32


def predict(skel, test_name=None, side=None, pain=False, checkpoint=None, adapter=None, sex=None) -> dict:
    """See tools.scoring.stgcn.infer.STGCNScorer.predict."""
    from tools.scoring.stgcn.infer import predict as _predict
    return _predict(skel, test_name, side, pain, checkpoint, adapter, sex)


def embed_skeleton(skel, checkpoint=None):
    """float32[EMBEDDING_DIM] L2-normalised motion embedding (tools.scoring.stgcn.infer.embed)."""
    from tools.scoring.stgcn.infer import embed
    return embed(skel, checkpoint)


def embedding_version(checkpoint=None) -> str:
    """Names the checkpoint that makes the embeddings; re-embed when it changes."""
    from tools.scoring.stgcn.infer import embedding_version as _version
    return _version(checkpoint)


def embed_metric_skeleton(skel, checkpoint=None):
    """float32[METRIC_EMBEDDING_DIM] retrieval embedding: same test and score lie close (tools.scoring.stgcn.metric)."""
    from tools.scoring.stgcn.infer import embed_metric
    return embed_metric(skel, checkpoint)


def metric_embedding_version(checkpoint=None) -> str:
    """Names the checkpoint and retrieval metric that make those embeddings."""
    from tools.scoring.stgcn.infer import metric_embedding_version as _version
    return _version(checkpoint)
