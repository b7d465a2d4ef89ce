"""Pose backends (MediaPipe, YOLO) behind one contract: frames in, 2D keypoints (and backend 3D) of the canonical joints out."""
