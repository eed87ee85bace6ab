"""The node-graph canvas: a pure-Python layered layout, and the Qt scene, items and view that draw it."""
