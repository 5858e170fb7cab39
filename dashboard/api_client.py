"""The only module that talks to the scoring API: requests with timeouts, errors turned into three plain cases."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from urllib.parse import quote

import requests

from dashboard import settings

_pool = ThreadPoolExecutor(max_workers=8)
_session = requests.Session()


class ApiUnavailable(Exception):
    """The API did not answer (down, slow, or a server error)."""


class AuthExpired(Exception):
    """The token was refused: expired, revoked or forged; the user must sign in again."""


class ApiRefused(Exception):
    """A 4xx the user can act on (not found, invalid value); carries the API's message."""

    def __init__(self, status: int, message: str, fields=None):
        super().__init__(message)
        self.status, self.message, self.fields = status, message, fields or []


def _path(*parts) -> str:
    """/api/v1/<part>/...: every part percent-encoded, '/', '?', '#' and '.' included, so no value (a feature
    name, an id) can climb to another route or cut the query; dots too, since clients drop '..' segments."""
    return "/api/v1/" + "/".join(quote(str(part), safe="").replace(".", "%2E") for part in parts)


# Every API path the dashboard uses: components call these, never write a path themselves.
def clients_path() -> str:
    return _path("clients")


def client_path(client_id) -> str:
    return _path("clients", client_id)


def client_score_path(client_id) -> str:
    return _path("clients", client_id, "score")


def client_explanation_path(client_id) -> str:
    return _path("clients", client_id, "explanation")


def client_what_if_path(client_id) -> str:
    return _path("clients", client_id, "what-if")


def client_counterfactuals_path(client_id) -> str:
    return _path("clients", client_id, "counterfactuals")


def client_decision_path(client_id) -> str:
    return _path("clients", client_id, "decision")


def client_offer_path(client_id) -> str:
    return _path("clients", client_id, "offer")


def client_letter_path(client_id) -> str:
    return _path("clients", client_id, "letter")


def client_reviews_path(client_id) -> str:
    return _path("clients", client_id, "reviews")


def reviews_path() -> str:
    return _path("reviews")


def review_stats_path() -> str:
    return _path("reviews", "stats")


def review_outcome_path(review_id) -> str:
    return _path("reviews", review_id, "outcome")


def campaign_offers_path() -> str:
    return _path("campaign", "offers")


def campaign_offers_csv_path() -> str:
    return _path("campaign", "offers.csv")


def model_path() -> str:
    return _path("model")


def importance_path() -> str:
    return _path("model", "importance")


def features_path() -> str:
    return _path("features")


def distribution_path(feature) -> str:
    return _path("features", feature, "distribution")


def bivariate_path() -> str:
    return _path("features", "bivariate")


def monitoring_stability_path() -> str:
    return _path("monitoring", "stability")


def monitoring_performance_path() -> str:
    return _path("monitoring", "performance")


def monitoring_challenger_path() -> str:
    return _path("monitoring", "challenger")


def _request(
    method: str,
    path: str,
    token: str | None = None,
    extra_headers: dict | None = None,
    conf: settings.DashboardSettings | None = None,
    expect: str = "json",
    **kwargs,
):
    """`conf`: the settings to use, for a thread outside the request (get_many); else the serving app's.
    `expect`: the media type of a successful answer; JSON is parsed, another (text/csv) is returned as text."""
    conf = conf or settings.current()
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    headers.update(extra_headers or {})
    try:
        # no redirect is followed: an API answer is JSON, and a Location header is not ours to trust
        response = _session.request(
            method, conf.api_url + path, headers=headers, timeout=conf.api_timeout, allow_redirects=False, **kwargs
        )
    except requests.RequestException as exc:
        raise ApiUnavailable(type(exc).__name__) from None
    if response.status_code >= 500:
        raise ApiUnavailable(f"HTTP {response.status_code}")
    if response.status_code < 400 and expect != "json":
        if response.headers.get("Content-Type", "").split(";")[0] != expect:
            raise ApiUnavailable(f"answer was not {expect}")
        return response.text
    try:
        body = response.json()
    except ValueError:
        raise ApiUnavailable("answer was not JSON") from None
    if response.status_code == 401 and token:
        raise AuthExpired(body.get("error", {}).get("message", "sign in again"))
    if response.status_code >= 400:
        error = body.get("error", {})
        raise ApiRefused(response.status_code, error.get("message", "refused"), error.get("fields"))
    return body


def sign_in(username: str, password: str, forwarded_for: str | None = None) -> dict:
    """`forwarded_for`: the browser's address chain, so the API limits sign-ins per person, not per dashboard."""
    headers = {"X-Forwarded-For": forwarded_for} if forwarded_for else None
    return _request(
        "POST", _path("auth", "token"), json={"username": username, "password": password}, extra_headers=headers
    )


def sign_out(token: str) -> None:
    """Revoke the token (and every other of the user) in the API; a refused or expired one is already useless."""
    try:
        _request("POST", _path("auth", "logout"), token)
    except (AuthExpired, ApiRefused):
        pass


def _given(params: dict) -> dict:
    return {k: v for k, v in params.items() if v is not None}


def get(path: str, token: str, **params):
    return _request("GET", path, token, params=_given(params))


def get_text(path: str, token: str, expect: str, **params) -> str:
    """A successful answer of media type `expect` (an export) as text; errors as for get()."""
    return _request("GET", path, token, expect=expect, params=_given(params))


def post(path: str, token: str, body: dict, **params):
    return _request("POST", path, token, json=body, params=params)


def get_many(token: str, calls: dict[str, tuple[str, dict]]) -> dict:
    """Independent GETs in parallel; each result is the body or the exception it raised."""
    conf = settings.current()  # read here: the pool's threads are outside the request and its app
    futures = {
        key: _pool.submit(_request, "GET", path, token, conf=conf, params=_given(params))
        for key, (path, params) in calls.items()
    }
    results = {}
    for key, future in futures.items():
        try:
            results[key] = future.result()
        except (ApiUnavailable, AuthExpired, ApiRefused) as exc:
            results[key] = exc
    return results
