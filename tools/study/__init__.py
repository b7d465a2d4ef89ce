"""Evaluating a scorer like an FMS reliability study (physio = reference rater).

- labels.py     read and check the physio labels CSV, find each clip's skeleton
- stats.py      agreement statistics (scipy / sklearn / pingouin)
- cv.py         leave-one-athlete-out / leave-one-clip-out cross-validation
- scorers.py    the rules and ST-GCN scorers (the agent scorer lives in agent/cli/evaluate.py)
- summary.py    per-test, composite, asymmetry and review-flag figures
- report.py     PNG figures + self-contained HTML report with the human figures beside ours
- xing2022.py   adapter for the Xing et al. 2022 Azure-Kinect FMS dataset
"""
