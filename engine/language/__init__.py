"""The loss-program language: a small, safe subset of Python for writing a loss.

``parse`` checks the text against a whitelist (``ast``, never ``eval``); ``evaluate`` walks the
tree and builds the Value graph. See README.md, "The loss language", for what it accepts.
"""

from .errors import ProgramError, ProgramOverflow
from .interpreter import Evaluation, Start, cached_start, evaluate, start
from .parser import (BUILTINS, FUNCTIONS, MAX_LIST_LENGTH, MAX_NESTING, MAX_OPERATIONS,
                     MAX_SOURCE_CHARS, Binding, Program, parse, set_binding)

__all__ = ["BUILTINS", "FUNCTIONS", "MAX_LIST_LENGTH", "MAX_NESTING", "MAX_OPERATIONS",
           "MAX_SOURCE_CHARS", "Binding", "Evaluation", "Program", "ProgramError", "ProgramOverflow", "Start",
           "cached_start", "evaluate", "parse", "set_binding", "start"]
