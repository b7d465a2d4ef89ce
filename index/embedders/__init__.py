"""Embedders behind one interface: motion (skeleton), text (passages) and multimodal (keyframes + text)."""
