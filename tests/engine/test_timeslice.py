from engine.timeslice import run_slice


class FakeClock:
    def __init__(self, tick: float) -> None:
        self.now, self.tick = 0.0, tick

    def __call__(self) -> float:
        self.now += self.tick
        return self.now


def test_a_slice_stops_when_the_work_is_done():
    left = [3]

    def step():
        left[0] -= 1
        return left[0] > 0

    assert run_slice(step, seconds=100.0, clock=FakeClock(0.001)) == 3
    assert left == [0]


def test_a_slice_stops_at_its_deadline_and_always_advances():
    calls = []
    assert run_slice(lambda: calls.append(1) or True, seconds=3.5, clock=FakeClock(1.0)) == 4
    assert run_slice(lambda: True, seconds=0.0, clock=FakeClock(1.0)) == 1


def test_a_pace_rests_once_per_slice_of_work():
    from engine.timeslice import Pace
    rests = []
    pace = Pace(3.5, 0.25, clock=FakeClock(1.0), sleep=rests.append)
    for _ in range(8):
        pace.tick()
    assert rests == [0.25, 0.25]  # the clock reads 2, 3, 4 (rest), …, 8 (rest)
