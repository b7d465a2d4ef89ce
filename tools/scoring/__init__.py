"""Scoring a skeleton: the deterministic FMS rubric (criteria read by path from knowledge/criteria.yaml) with its
margin-based confidence, per-repetition and whole-recording scoring, and the ST-GCN second opinion."""
