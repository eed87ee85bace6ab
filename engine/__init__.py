"""The autodiff engine: pure Python, never Qt.

``value`` is the tutorial's ``Value`` node; ``language`` turns a loss program into a graph;
``train`` runs gradient descent; ``graph`` and ``records`` let anyone watch each step;
``formats`` writes a graph as DOT, Mermaid or JSON.
"""

from .value import DomainError, Value

__all__ = ["DomainError", "Value"]
