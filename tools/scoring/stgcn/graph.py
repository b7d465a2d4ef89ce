"""The skeleton graph of the ST-GCN: BONES -> normalised, partitioned adjacency.

Pure functions over the canonical joint table (tools.core.skeleton); building the
graph touches neither disk nor network.

Partition strategy: "spatial" (Yan et al. 2018, ST-GCN), rooted at the hips.
Every joint's hop distance to the nearer hip (left_hip / right_hip, distance 0)
splits each neighbourhood (the joint itself plus the joints one bone away)
into three subsets, so the network can weigh them separately:
  0  root subset:   the joint itself and neighbours at the same hop distance
  1  centripetal:   neighbours closer to the hips
  2  centrifugal:   neighbours further from the hips
Normalisation: the whole neighbourhood matrix (self-loops included) is
row-normalised, A_norm = D^-1 (A + I), and then split into the three subsets,
so a node's update is the mean of its neighbourhood with a separate weight per
subset; the three slices of a row sum to 1.
Shape of the result: [K=3, V, V], A[k, i, j] = weight of joint j in joint i's update.
"""
from __future__ import annotations

import numpy as np

from tools.core.skeleton import BONES, JOINT_INDEX, JOINTS

ROOT_JOINTS: tuple[str, ...] = ("left_hip", "right_hip")
N_PARTITIONS = 3


def bone_edges() -> list[tuple[int, int]]:
    """Undirected edges (i, j) of the canonical skeleton, as joint indices."""
    return [(JOINT_INDEX[a], JOINT_INDEX[b]) for a, b in BONES]


def hop_distance(edges: list[tuple[int, int]], n_nodes: int, roots: list[int]) -> np.ndarray:
    """Bones from each node to the nearest root (breadth-first); inf where unreachable."""
    neighbours: list[list[int]] = [[] for _ in range(n_nodes)]
    for i, j in edges:
        neighbours[i].append(j)
        neighbours[j].append(i)
    dist = np.full(n_nodes, np.inf)
    frontier = list(roots)
    for r in roots:
        dist[r] = 0
    while frontier:
        nxt = []
        for i in frontier:
            for j in neighbours[i]:
                if dist[j] == np.inf:
                    dist[j] = dist[i] + 1
                    nxt.append(j)
        frontier = nxt
    return dist


def spatial_adjacency(roots: tuple[str, ...] = ROOT_JOINTS) -> np.ndarray:
    """[3, V, V] float32 spatial-partition adjacency, row-normalised (see module docstring)."""
    n = len(JOINTS)
    edges = bone_edges()
    dist = hop_distance(edges, n, [JOINT_INDEX[r] for r in roots])
    if not np.isfinite(dist).all():
        unreachable = [JOINTS[i] for i in np.flatnonzero(~np.isfinite(dist))]
        raise ValueError(f"skeleton graph is not connected: {unreachable} cannot reach the hips")
    full = np.eye(n)
    for i, j in edges:
        full[i, j] = full[j, i] = 1.0
    full = full / full.sum(axis=1, keepdims=True)
    parts = np.zeros((N_PARTITIONS, n, n), dtype=np.float32)
    for i in range(n):
        for j in np.flatnonzero(full[i]):
            if dist[j] == dist[i]:
                k = 0
            elif dist[j] < dist[i]:
                k = 1
            else:
                k = 2
            parts[k, i, j] = full[i, j]
    return parts
