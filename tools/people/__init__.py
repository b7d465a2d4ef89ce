"""Who is the athlete: find every person, track them, choose the athlete, keep the skeleton on them, SAM 3 masks."""
