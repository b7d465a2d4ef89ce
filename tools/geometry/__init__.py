"""From keypoints to measurements: the camera and the floor, the constant-bone skeleton fit (the metric 3D
body under gravity), left/right and facing, pose quality, repetition signals and the named joint angles."""
