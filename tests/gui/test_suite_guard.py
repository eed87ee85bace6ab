"""The suite's own guard (tests/conftest.py): a GUI test that leaves a QThread running fails, and
the thread is stopped so the next test starts clean."""

import shutil
from pathlib import Path

pytest_plugins = ["pytester"]


def test_a_test_that_leaves_a_thread_running_fails_and_its_thread_is_stopped(pytester):
    shutil.copy(Path(__file__).parents[1] / "conftest.py", pytester.path / "conftest.py")
    pytester.makepyfile(test_leak="""
        from PySide6.QtCore import QThread

        KEPT = []

        def test_leaves_a_thread(qtbot):
            thread = QThread()
            thread.start()
            KEPT.append(thread)

        def test_stops_its_thread(qtbot):
            thread = QThread()
            thread.start()
            thread.quit()
            thread.wait()
            KEPT.append(thread)

        def test_the_leaked_thread_was_stopped():
            assert not KEPT[0].isRunning()
    """)
    result = pytester.runpytest_inprocess("-p", "no:xdist", "-p", "no:randomly")
    result.assert_outcomes(passed=3, errors=1)
    result.stdout.fnmatch_lines(["E*AssertionError: 1 QThread(s) left running*"])
