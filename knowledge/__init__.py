"""Rubric passages, criteria thresholds, capture protocol and ethics, with a small loader."""
