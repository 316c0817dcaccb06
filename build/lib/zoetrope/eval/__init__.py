"""world-bench: measures how well frames follow the scene their prompt asked for.

`analyze(frames, scene)` scores one clip per axis (color, shape, count, direction, speed,
relation, consistency, flicker, and "motion" for every other kind of movement and the
camera); `world_bench(generate)` runs it over held-out scenes.
`seam_continuity` and `loop_continuity` score cuts in extended and looped clips.
"""

from zoetrope.eval.analyze import ALL_AXES, AXES, analyze
from zoetrope.eval.bench import world_bench
from zoetrope.eval.temporal import flicker, loop_continuity, seam_continuity

__all__ = ["ALL_AXES", "AXES", "analyze", "flicker", "loop_continuity", "seam_continuity", "world_bench"]
