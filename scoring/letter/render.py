"""The letter as print-ready HTML: one Jinja2 template (A4, inline CSS, no script, no external resource),
everything escaped."""

from __future__ import annotations

import functools
from datetime import date
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from scoring.letter.content import compose
from scoring.letter.lender import Lender


@functools.cache
def _template():
    env = Environment(
        loader=FileSystemLoader(Path(__file__).parent),
        autoescape=True,  # every value is text, a client's category name included
        undefined=StrictUndefined,  # a missing part fails the render rather than printing nothing
        trim_blocks=True,
        lstrip_blocks=True,
    )
    return env.get_template("letter.html.j2")


def render(content: dict) -> str:
    """HTML of a composed letter (content.compose)."""
    return _template().render(**content)


def letter_html(
    store,
    client_id: int,
    record: dict,
    *,
    grade_names: tuple[str, ...],
    lender: Lender,
    lang: str,
    counterfactuals: dict | None = None,
    today: date | None = None,
) -> str:
    """The letter of a stored client whose decision record is `record` (declined or counter-offered): the reasons
    come from the store's SHAP values and percentiles, the decision date and data source from its meta."""
    explanation = store.get_explanation(client_id)
    if explanation is None:
        raise LookupError(f"client {client_id} is not in the store")
    content = compose(
        client_id,
        record,
        explanation,
        lambda values: store.percentiles(values, explanation["generation"]),
        meta=store.meta(),
        grade_names=grade_names,
        lender=lender,
        lang=lang,
        counterfactuals=counterfactuals,
        today=today,
    )
    return render(content)
