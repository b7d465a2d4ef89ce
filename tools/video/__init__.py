"""Video in and out: open and validate a clip, read upright frames, write browser-playable mp4, draw the skeleton overlay."""
