"""Scoring a skeleton: the deterministic FMS rubric (criteria read by path from knowledge/criteria.yaml) and the ST-GCN second opinion."""
