"""What-if for managers: change the loan asked and see the simulated PD, grade and decision beside the current ones."""

from __future__ import annotations

from dash import Dash, Input, Output, State, dcc, html, no_update

from dashboard import api_client, session
from dashboard.components.common import DECISION_STYLE, expired_marker, failed
from dashboard.i18n import percent, t

_FIELDS = (("AMT_CREDIT", "amount"), ("AMT_ANNUITY", "annuity"), ("AMT_GOODS_PRICE", "goods"))


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
            html.P([t("pd", lang), ": ", html.Strong(percent(score["pd"], lang), id=f"{element_id}-pd")]),
            html.P([t("grade", lang), ": ", html.Strong(score["grade"])]),
            html.P(
                [html.Span(mark, **{"aria-hidden": "true"}), " ", t(score["decision"], lang)],
                style={"color": colour},
                className="decision",
            ),
        ],
        className="side",
    )


def _simulate(_, requested, credit, annuity, goods):
    user, lang = session.user(), session.lang()
    cid = session.allowed_client(requested)
    if user is None or user["role"] != "manager" or cid is None:
        return no_update
    changes = {k: v for k, v in (("AMT_CREDIT", credit), ("AMT_ANNUITY", annuity), ("AMT_GOODS_PRICE", goods)) if v}
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
        prevent_initial_call=True,
    )(_simulate)
