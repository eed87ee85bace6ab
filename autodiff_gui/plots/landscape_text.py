"""The landscape's words: the prediction for α above the plot and the caption under it.

Plain functions of a :class:`~autodiff_gui.plots.landscape_draw.Frame`, with no Qt, so each
sentence is tested on its own; the curvatures come from ``engine.regimes``.
"""

from __future__ import annotations

import html
from dataclasses import dataclass

from engine.graph import format_number
from engine.regimes import (DIVERGING, MONOTONE, ONE_STEP, OSCILLATING, PERIODIC, Regime, classify,
                            predict_regime, steepest_curvature)

from .landscape_math import Frame, fmt

GLYPHS = {"tangent": "━", "step": "➜", "minimum": "★"}
_ORDER = ("tangent", "step", "minimum")


@dataclass(frozen=True)
class Prediction:
    """The prediction for α: ``text`` in full, ``short`` for a narrow panel (the regime and where
    divergence begins, one line), ``tip`` the longer explanation for the tooltip."""

    text: str
    short: str
    tip: str


def prediction(frame: Frame) -> Prediction:
    """The prediction for the frame's α along its parameter (and, with two parameters, along the
    bowl's steepest direction)."""
    name = frame.names[frame.param]
    regime = predict_regime(frame.program, frame.values, frame.lr, frame.param)
    where = "" if len(frame.names) == 1 else f" along {name}"
    head = f"Prediction for α = {format_number(frame.lr)}{where}"
    text = f"{head}: {describe(regime)}."
    short = f"{head}: {regime.name}"
    if regime.boundaries is not None:
        short += f" (diverges above {fmt(regime.boundaries[1])})"
    tip = [regime.explanation]
    if regime.curvature is not None:
        tip.append(f"The curvature d²L/d{name}² = {fmt(regime.curvature)} at the current point "
                   f"decides: one step multiplies the distance to the minimum by 1 − α·curvature.")
    if len(frame.names) == 2:
        steepest = steepest_curvature(frame.program, frame.values)
        if steepest is not None and steepest > 0:
            both = classify(frame.lr, steepest)
            text += (f" Both parameters together: along the bowl's steepest direction "
                     f"(curvature {fmt(steepest)}) it is {both}, and diverges above α = {fmt(2 / steepest)}.")
            short += f"; both together: {both} (diverges above {fmt(2 / steepest)})"
    elif len(frame.names) > 2:
        tip.append("Along one parameter only: the others change too when the run updates them.")
    return Prediction(text, short + ".", "\n".join([text, *tip]))


def caption(labels: list[tuple[str, str, str]], frame: Frame, has_tangent: bool) -> tuple[str, str]:
    """The caption under the plot as rich text and as plain text: each label's full text in its
    colour (``labels``: role, text, colour), then what the moment has not revealed yet.

    It depends on the frame only, never on the plot's size, so showing it cannot change which
    labels fit (no back-and-forth between the plot and its caption).
    """
    entries = sorted(labels, key=lambda e: _ORDER.index(e[0]) if e[0] in _ORDER else len(_ORDER))
    rich, plain = [], []
    for role, text, colour in entries:
        glyph = GLYPHS.get(role, "●")
        # one entry never breaks across lines: no-break spaces, word joiners between characters
        whole = html.escape("\u2060".join(f"{glyph} {text}".replace(" ", "\u00a0")))
        rich.append(f'<span style="color:{colour}">{whole}</span>')
        plain.append(f"{glyph} {text}")
    waiting = []
    if has_tangent and not frame.slope_known:
        waiting.append(f"the slope dL/d{frame.names[frame.param]} once the backward pass has computed it")
    if not frame.update:
        waiting.append("the step at the weight update")
    if waiting:
        hint = "To come: " + "; ".join(waiting) + "."
        rich.append(f"<i>{html.escape(hint)}</i>")
        plain.append(hint)
    return " &nbsp;&nbsp; ".join(rich), "   ".join(plain)


def describe(regime: Regime) -> str:
    """One plain sentence for a learner: what gradient descent will do, and where the boundaries are.

    Built from the regime's numbers (not its explanation text) so that the sentence for one regime
    never names another.
    """
    bounds = regime.boundaries
    factor = regime.factor
    if bounds is None or factor is None:
        return regime.explanation
    b1, b2 = fmt(bounds[0]), fmt(bounds[1])
    sentence = {
        MONOTONE: f"each step keeps {fmt(factor)} of the distance to the minimum: a steady "
                  f"approach (for α below {b1})",
        ONE_STEP: f"the first step lands exactly on the minimum (α = {b1})",
        OSCILLATING: f"each step jumps past the minimum and the distance is multiplied by "
                     f"{fmt(factor)}: it swings from side to side but converges (α between "
                     f"{b1} and {b2})",
        PERIODIC: f"each step jumps past the minimum by exactly as much as it was off: it bounces "
                  f"between two points for ever (α = {b2})",
        DIVERGING: f"each step lands {fmt(abs(factor))}× farther from the minimum, on the other "
                   f"side: it diverges (α above {b2})",
    }.get(regime.name)
    return f"{regime.name} — {sentence}" if sentence else regime.explanation
