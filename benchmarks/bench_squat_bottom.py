"""Knee flexion at the bottom of the rendered deep squat: truth vs before (MediaPipe 3D) vs after (the fit).

    .venv/bin/python benchmarks/bench_squat_bottom.py      # needs the budget clips in benchmarks/.cache/angles

Reads the `budget` set's deep-squat clips (benchmarks/angle_clips.py, --size pose, first sample) at every azimuth and
lens height, and prints the deepest mean knee flexion of both knees for the truth and both skeletons.
"""
import sys
from pathlib import Path
sys.path[:0] = [str(Path(__file__).resolve().parent), str(Path(__file__).resolve().parents[1])]
import numpy as np, warnings; warnings.simplefilter('ignore')
import logging; logging.disable(logging.WARNING)
from pathlib import Path
from angle_clips import clip_set, select, clip_files, load_pose
from bench_angles_video import prepared
from tools.core.skeleton import Skeleton
from tools.geometry.fit import fit_pose
from tools.geometry.lift3d import to_skeleton
from tools.geometry.angles import measure
print("azimuth height | knee flexion at the squat's bottom (mean L/R), truth / before / after (deg)")
for s in select(clip_set('budget',('deep_squat',),'pose'),'0,30,45,60,90,180','1.2,0.6',1):
    f=clip_files(s,Path('benchmarks/.cache/angles')); p=load_pose(f['pose']); t=Skeleton.load(f['truth'])
    mt=measure(t); a=measure(prepared(fit_pose(p)[0])); b=measure(prepared(to_skeleton(p)))
    kn=lambda m: (m['left_knee_flexion_deg'].values+m['right_knee_flexion_deg'].values)/2
    tv=kn(mt); i=int(np.nanargmax(tv)); w=slice(max(0,i-3),i+4)
    bb=np.nanmax(kn(b)[:len(tv)]); aa=np.nanmax(kn(a)[:len(tv)])
    print(f"{s.azimuth_deg:5g} {s.lens_height_m:4g} | {np.nanmax(tv):6.1f} {bb:6.1f} {aa:6.1f}   err before {bb-np.nanmax(tv):+6.1f} after {aa-np.nanmax(tv):+6.1f}")
