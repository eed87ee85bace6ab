"""The one error the loss language raises: a sentence, with a 1-based line and column."""

from __future__ import annotations


class ProgramError(Exception):
    """A problem in a loss program, at ``line``:``column`` (both 1-based).

    ``end_column`` (exclusive, 1-based) marks how far an editor should underline on that line.
    """

    def __init__(self, message: str, line: int = 1, column: int = 1, end_column: int | None = None,
                 source_name: str = "<program>"):
        super().__init__(message)
        self.message = message
        self.line = max(1, line)
        self.column = max(1, column)
        self.end_column = end_column if end_column and end_column > self.column else self.column + 1
        self.source_name = source_name

    def __str__(self) -> str:
        return f"{self.source_name}:{self.line}:{self.column}: error: {self.message}"


class ProgramOverflow(ProgramError):
    """A number grew past what a float holds: in training this means the run diverged."""
