"""The trainer's defaults and the names of a run's endings, in a module of their own so that a
command line can name them in its help without importing the trainer (and its compiler)."""

RUNNING, CONVERGED, DIVERGED, MAX_STEPS, ERROR = "running", "converged", "diverged", "max_steps", "error"
DEFAULT_LR, DEFAULT_STEPS, DEFAULT_TOL = 0.1, 100, 1e-6
