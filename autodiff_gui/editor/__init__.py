"""The editor side panel: the loss program as text, the one source of truth for the graph.

A learner edits the program here, sees mistakes underlined where they are while the last valid
graph stays on screen, and can change a parameter's starting value in a table that rewrites the
number in the text rather than keeping a second copy of it.
"""
