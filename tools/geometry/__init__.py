"""From keypoints to measurements: metric 3D lift, pose quality, the named joint angles."""
