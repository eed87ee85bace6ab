"""Side panels that teach: each takes an ``engine.replay.Moment`` and may ask the window to show
another moment of the same iteration (``positionRequested``)."""
