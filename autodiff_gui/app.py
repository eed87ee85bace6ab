"""``autodiff-gui``: open the window."""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    print("autodiff-gui: the window is not built yet; use `autodiff` meanwhile", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
