"""The loss and parameter plots of a gradient-descent run.

``history`` stores a run's iterations in numpy arrays (no Qt, so it is tested and used without a
display); ``curves`` draws them with pyqtgraph, including faded "ghost" curves of earlier runs for
comparing learning rates; ``export`` saves any widget as SVG or PNG without pyqtgraph's own
exporters, whose SVG exporter fails on recent PySide6 releases.
"""
