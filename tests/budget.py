"""How many iterations a test of a whole run can afford on a big graph."""


def step_budget(program, visits: int = 100_000, least: int = 11) -> int:
    """Iterations worth about ``visits`` node visits on the ``Value`` path: the moons preset's
    8,925-node graph runs its first 11, which exercise every line of its script (and of the
    trainer: interpreted, compiled, replayed) as its 400 would; small graphs run all theirs."""
    from engine.language.interpreter import evaluate
    from engine.value import topological_order

    return max(least, visits // len(topological_order(evaluate(program).loss)))
