"""What-if for managers: change the loan asked and see the simulated PD, grade and decision beside the current ones.

An option of the counterfactual card can be loaded: its changes fill the form (those the form has a field for) or
are listed under it (the others), and the simulation runs at once with exactly the option's changes.
"""

from __future__ import annotations

from dash import ALL, Dash, Input, Output, State, ctx, dcc, html, no_update

from dashboard import api_client, session
from dashboard.components import counterfactual_card
from dashboard.components.common import DECISION_STYLE, expired_marker, failed
from dashboard.i18n import lead, number, percent, t

_FIELDS = (("AMT_CREDIT", "amount"), ("AMT_ANNUITY", "annuity"), ("AMT_GOODS_PRICE", "goods"))
# what an option may change besides the form's fields, named when its own list of changes does not
_EXTRA_LABELS = {"TERM_MONTHS": "cf_term", "DOWN_PAYMENT": "cf_down_payment", "BUREAU_DEBT_PAYDOWN": "cf_paydown"}
# a form field that follows an option's change the form has no field for: the API takes one or the other
_FOLLOWS = {"AMT_ANNUITY": "TERM_MONTHS", "AMT_CREDIT": "DOWN_PAYMENT"}


def layout(lang: str, role: str):
    """The section for a manager; None for anyone else (a customer cannot simulate)."""
    if role != "manager":
        return None
    inputs = [
        html.Div(
            [
                html.Label(t(key, lang), htmlFor=f"wi-{field}"),
                dcc.Input(id=f"wi-{field}", type="number", min=1, step="any"),
            ],
            className="field",
        )
        for field, key in _FIELDS
    ]
    inputs.append(
        html.Div(
            [
                html.Label(t("term", lang), htmlFor="wi-term"),
                dcc.Input(id="wi-term", type="number", min=3, max=120, step=1, debounce=True),
            ],
            className="field",
        )
    )
    return html.Section(
        [
            html.H2(t("whatif_title", lang)),
            html.P(t("whatif_note", lang), className="simulation-note", role="note"),
            html.Div(inputs, className="filters"),
            html.Div(id="wi-loaded"),
            dcc.Store(id="wi-extra", data={}),
            html.Button(t("simulate", lang), id="wi-run", className="primary"),
            html.Div(id="wi-result", **{"aria-live": "polite"}),
        ],
        className="card whatif",
    )


def _prefill(_, requested):
    user = session.user()
    cid = session.allowed_client(requested)
    if user is None or user["role"] != "manager" or cid is None:
        return no_update, no_update, no_update
    try:
        file = api_client.get(api_client.client_path(cid), user["token"])
    except (api_client.ApiUnavailable, api_client.ApiRefused, api_client.AuthExpired):
        return no_update, no_update, no_update
    values = {f["name"]: f["value"] for g in file["groups"] for f in g["fields"]}
    return tuple(values.get(field) for field, _ in _FIELDS)


def _annuity_from_term(term, credit):
    if not term or not credit or term <= 0:
        return no_update
    # the same convention as the lender's offers: flat 12 % a year over the term, paid in equal instalments
    return round(credit * (1 + 0.12 * term / 12) / term, 2)


def _side(title: str, score: dict, lang: str, element_id: str):
    colour, mark = DECISION_STYLE[score["decision"]]
    return html.Div(
        [
            html.H3(title),
            html.P([lead("pd", lang), html.Strong(percent(score["pd"], lang), id=f"{element_id}-pd")]),
            html.P([lead("grade", lang), html.Strong(score["grade"])]),
            html.P(
                [html.Span(mark, **{"aria-hidden": "true"}), " ", t(score["decision"], lang)],
                style={"color": colour},
                className="decision",
            ),
            _outcome(score.get("decision_record"), lang, element_id),
        ],
        className="side",
    )


def _outcome(record: dict | None, lang: str, element_id: str):
    """The lender's decision under its policy (a simulation's decision record), beside the score's own decision."""
    if not record or record.get("outcome") not in DECISION_STYLE:
        return None
    colour, mark = DECISION_STYLE[record["outcome"]]
    return html.P(
        [
            lead("decision_title", lang),
            html.Strong(
                [html.Span(mark, **{"aria-hidden": "true"}), " ", t(record["outcome"], lang)],
                id=f"{element_id}-outcome",
                style={"color": colour},
            ),
        ]
    )


def _simulate(_, requested, credit, annuity, goods, extra=None):
    """`extra`: changes of a loaded option the form has no field for; they stay part of the simulation."""
    user = session.user()
    cid = session.allowed_client(requested)
    if user is None or user["role"] != "manager" or cid is None:
        return no_update
    extra = extra or {}
    form = {k: v for k, v in (("AMT_CREDIT", credit), ("AMT_ANNUITY", annuity), ("AMT_GOODS_PRICE", goods)) if v}
    form = {k: v for k, v in form.items() if _FOLLOWS.get(k) not in extra}
    return _run(cid, user, {**extra, **form}, session.lang())


def _run(cid: int, user: dict, changes: dict, lang: str):
    try:
        result = api_client.post(api_client.client_what_if_path(cid), user["token"], {"changes": changes})
    except api_client.AuthExpired:
        return expired_marker()
    except api_client.ApiRefused as exc:
        detail = "; ".join(f"{f['field']}: {f['message']}" for f in exc.fields) or exc.message
        return html.P(t("invalid", lang, msg=detail), role="alert", className="failed")
    except api_client.ApiUnavailable:
        return failed(lang)
    return _comparison(result, lang)


def _comparison(result: dict, lang: str):
    """The API's what-if answer: current and simulated side by side, the simulation marked as such."""
    return html.Div(
        [
            _side(t("current", lang), result["current"], lang, "wi-current"),
            _side(t("simulated", lang) + " *", result["simulated"], lang, "wi-simulated"),
            html.P("* " + t("whatif_note", lang), className="muted small"),
        ],
        className="compare-sides",
    )


def _shown(value, lang: str) -> str:
    return number(value, lang, 0 if float(value).is_integer() else 2) if isinstance(value, int | float) else str(value)


def _loaded(option: dict, extra: dict, lang: str):
    """Which option is in the form, and the changes of it the form has no field for."""
    parts = [html.Strong(t("cf_loaded", lang, rank=option["rank"])), " ", option["summary"]]
    labels = {c["field"]: c for c in option.get("changes") or []}
    others = []
    for field, value in extra.items():
        change = labels.get(field, {})
        label = change.get("label") or t(_EXTRA_LABELS.get(field, "field"), lang)
        before = change.get("from")
        moved = f"{_shown(before, lang)} → {_shown(value, lang)}" if before is not None else _shown(value, lang)
        others.append(html.Li(f"{label}: {moved}"))
    return html.Div([html.P(parts), html.Ul(others) if others else None], className="notice", id="wi-loaded-option")


def _load_option(clicks, options, requested):
    """A counterfactual option's changes into the form, and its simulation run as the API offered it."""
    user, lang = session.user(), session.lang()
    cid = session.allowed_client(requested)
    trigger = ctx.triggered_id
    nothing = (no_update,) * 6
    if user is None or user["role"] != "manager" or cid is None or not isinstance(trigger, dict):
        return nothing
    if not any(clicks or []) or str(trigger.get("rank")) not in (options or {}):
        return nothing  # the buttons were drawn, not clicked
    option = options[str(trigger["rank"])]
    changes = dict(option["what_if"])
    # a field the option sets shows its value; one that follows the option's term or down payment is emptied
    form = [changes.get(field, None if _FOLLOWS.get(field) in changes else no_update) for field, _ in _FIELDS]
    extra = {k: v for k, v in changes.items() if k not in dict(_FIELDS)}
    return (*form, extra, _loaded(option, extra, lang), _run(cid, user, changes, lang))


def register(app: Dash) -> None:
    """The what-if callbacks on `app`: prefill from the file once it is shown, annuity from a term, simulate."""
    app.callback(
        Output("wi-AMT_CREDIT", "value"),
        Output("wi-AMT_ANNUITY", "value"),
        Output("wi-AMT_GOODS_PRICE", "value"),
        Input("file-panel", "children"),
        State("client-id", "data"),
    )(_prefill)
    app.callback(
        Output("wi-AMT_ANNUITY", "value", allow_duplicate=True),
        Input("wi-term", "value"),
        State("wi-AMT_CREDIT", "value"),
        prevent_initial_call=True,
    )(_annuity_from_term)
    app.callback(
        Output("wi-result", "children"),
        Input("wi-run", "n_clicks"),
        State("client-id", "data"),
        State("wi-AMT_CREDIT", "value"),
        State("wi-AMT_ANNUITY", "value"),
        State("wi-AMT_GOODS_PRICE", "value"),
        State("wi-extra", "data"),
        prevent_initial_call=True,
    )(_simulate)
    app.callback(
        *[Output(f"wi-{field}", "value", allow_duplicate=True) for field, _ in _FIELDS],
        Output("wi-extra", "data"),
        Output("wi-loaded", "children"),
        Output("wi-result", "children", allow_duplicate=True),
        Input({"type": counterfactual_card.LOAD_TYPE, "rank": ALL}, "n_clicks"),
        State(counterfactual_card.DATA_ID, "data"),
        State("client-id", "data"),
        prevent_initial_call=True,
    )(_load_option)
