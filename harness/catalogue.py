"""The catalogue of built-in components: attention types, trackers and launchers, by name.

Kept apart from the registry mechanism (:mod:`harness.registry`), which imports this module on a registry's first
lookup. Entries are lazy ``"module:attribute"`` strings with their one-line summaries, so listing them imports
nothing heavy (no PyTorch). Schedules, samplers and pruners register themselves in the modules that define them
(:mod:`harness.schedules`, :mod:`harness.strategies`); tasks, their model families, baselines and datasets come from entry points
(``pyproject.toml``), exactly as a plugin's do.
"""

from harness.registry import ATTENTION, LAUNCHERS, TRACKERS

for _name, _target, _summary in [
    ("none", "harness.attention.none:NoAttention", "no attention: fixed context from the last encoder state (Cho et al. 2014)"),
    ("dot", "harness.attention.dot:DotAttention", "Luong dot score h_t . h_s (Luong et al. 2015)"),
    ("general", "harness.attention.general:GeneralAttention", "Luong general score h_t^T W_a h_s (Luong et al. 2015)"),
    ("location", "harness.attention.location:LocationAttention",
     "Luong location-based a_t = softmax(W_a h_t) (Luong et al. 2015)"),
    ("additive", "harness.attention.additive:AdditiveAttention", "Bahdanau additive v^T tanh(W q + U k) (Bahdanau et al. 2015)"),
    ("scaled_dot", "harness.attention.scaled_dot:ScaledDotAttention",
     "scaled dot-product, one head, fused SDPA kernel (Vaswani et al. 2017)"),
    ("multihead", "harness.attention.multihead:MultiHeadAttention",
     "multi-head scaled dot-product, fused SDPA kernel (Vaswani et al. 2017)"),
]:
    ATTENTION.register(_name, _target, summary=_summary)

TRACKERS.register("mlflow", "harness.trackers:MLflowTracker",
                  summary="MLflow: a parent run per study, a child run per trial, per-epoch metrics (needs mlflow-skinny)")
TRACKERS.register("tensorboard", "harness.trackers:TensorBoardTracker",
                  summary="TensorBoard event files per trial, per-epoch scalars (needs tensorboard)")

LAUNCHERS.register("local", "harness.launchers.local:LocalLauncher",
                   summary="worker processes on this machine, one GPU each with --devices (the default)")
LAUNCHERS.register("slurm", "harness.launchers.slurm:SlurmLauncher",
                   summary="a Slurm job array of workers through submitit (cluster = \"local\": local processes)")
LAUNCHERS.register("ray", "harness.launchers.ray_core:RayLauncher",
                   summary="Ray tasks with num_cpus / num_gpus per worker, on a local runtime or --address")
