"""The client store as the API and the CLI use it, whichever backend holds it (a SQLite file; PostgreSQL in #14).

Callers get a store from `scoring.store.open_store` and never name its backend. The contract every backend keeps:
an unknown or malformed client id gives None, never an error; an unknown feature is KeyError; a bad argument is
ValueError naming it. Scores and SHAP values are those of the bundle the store was built (or explained) with;
SHAP values are log-odds contributions.
"""

from __future__ import annotations

from abc import ABC, abstractmethod


class NotReleased(LookupError):
    """The store holds no customer aggregate for this pair of features (outside the grid set)."""


class AggregatesMissing(RuntimeError):
    """A store built before customer aggregates existed: rebuild it (build-store or explain-all)."""


class DecisionsMissing(RuntimeError):
    """A store built before decisions were stored: rebuild it with build-store (its policy inputs need the raw
    tables; explain-all re-decides a store that has them)."""


# Human review requests: their texts (a customer's comment, a reviewer's reason) and outcomes, for every backend
# and for the API's checks. The patterns read the same in Python and in JSON Schema: no control character but tab,
# newline and carriage return; a reason also needs one character that is not blank.
REVIEW_TEXT_MAX = 2000
REVIEW_RESULTS = ("upheld", "changed")
REVIEW_OUTCOMES = ("approve", "counter_offer", "refer", "decline")
_CONTROL = r"\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f"
REVIEW_TEXT_PATTERN = rf"^[^{_CONTROL}]*$"
REVIEW_REASON_PATTERN = rf"^[^{_CONTROL}]*[^\s{_CONTROL}][^{_CONTROL}]*$"


class ReviewConflict(RuntimeError):
    """The review request cannot change that way: the client already has an open one, or it is already closed."""

    def __init__(self, message: str, review: dict):
        super().__init__(message)
        self.review = review  # the open review in the way, or the closed one


class ClientStore(ABC):
    """Read-only point lookups and population statistics over one store generation at a time; the human review
    requests, which live across generations, are also written through it."""

    # --- store generations: a request reads one generation whole, whichever is switched in meanwhile -----------
    @abstractmethod
    def generation_key(self):
        """An opaque, comparable value that changes whenever a different store generation is switched in (a
        rebuild or a promotion); cheap enough to call on every request (SQLite: a stat of the file)."""

    @abstractmethod
    def pin_generation(self):
        """Called at the start of each request: returns the generation key, and makes the calling thread's
        following reads use that generation until its next pin, even when another one is switched in meanwhile
        (SQLite: the thread's read-only connection is checked and refreshed once here, then reused without
        re-checking until the next pin; the replaced file stays readable through the open connection)."""

    # --- meta and point lookups ---------------------------------------------------------------------------------
    @abstractmethod
    def meta(self) -> dict:
        """What the store was built from: model_version, data_source, n_clients, threshold, built_at, the feature
        lists (feature_names, numeric_features, categorical_features, model_features), base_value, sample_size,
        and explained_at once explain-all ran."""

    @abstractmethod
    def get_client(self, client_id) -> dict | None:
        """{client_id, split, application, features, history}; None for an unknown id.

        `application` holds every Kaggle application field (None when not given), never TARGET; `features` every
        feature by name (None when missing); `history` the summary features of the client's credit history.
        """

    @abstractmethod
    def get_score(self, client_id) -> dict | None:
        """{client_id, pd, grade, decision, threshold, model_version, raw_score}; None for an unknown id."""

    @abstractmethod
    def get_decision(self, client_id) -> dict | None:
        """What the stored decision keeps: {client_id, outcome, offer_amount, offer_annuity, fired (codes), pd,
        grade, threshold, model_version, policy {version, sha256, label}, features, policy_inputs}, enough for
        scoring.decision.service.stored_decision to rebuild the full record. None for an unknown id;
        DecisionsMissing for a store built before decisions were stored."""

    @abstractmethod
    def get_explanation(self, client_id, top: int | None = None) -> dict | None:
        """The score plus base_value, shap and values of the `top` features largest by |SHAP| (all when None).

        `shap` and `values` name those features, largest first; `shap_total` sums all of them, so that
        base_value + shap_total == raw_score; also n_features and the store `generation` the row was read from.
        None for an unknown id.
        """

    @abstractmethod
    def list_clients(self, search=None, limit: int = 20, offset: int = 0, grade=None, decision=None) -> dict:
        """{total, items: [{client_id, pd, grade, decision}]} in id order, filtered by grade and decision.

        `search` is a client-id prefix of ASCII digits (anything else finds nothing); `limit` is held to 0..1000.
        """

    # --- pre-approved offers: the last campaign (scoring.decision.campaign), written by scoring.store.save_offers
    @abstractmethod
    def list_offers(self, grade=None, min_amount=None, max_amount=None, limit: int = 20, offset: int = 0) -> dict:
        """{campaign, total, items: [offer]} in rank order, filtered by grade and by amount (bounds included).

        `campaign`: {run_at, policy_version, policy_sha256, model_version, clients_scored, offers, message}, None
        (and no items) before the first campaign. An offer: {rank, client_id, pd, grade, amount, annuity,
        term_months, annual_rate, dsti}. `limit` is held to 0..1000; ValueError for a bound that is not a number.
        """

    @abstractmethod
    def get_offer(self, client_id) -> dict | None:
        """The client's offer plus its `campaign`; None for a client without one, or an unknown id."""

    # --- population statistics for managers: the labelled sample and the quantiles of all clients ---------------
    @abstractmethod
    def percentile(self, feature: str, value) -> float | None:
        """Share (0..100) of all clients with a known, lower value; None for a missing value or a categorical.

        KeyError for an unknown feature, ValueError for a value that is not a number.
        """

    @abstractmethod
    def percentiles(self, values: dict, generation: str | None = None) -> dict:
        """percentile() of each {feature: value}; unknown features and unusable values are left out.

        `generation`: that of the lookup the values come from (get_explanation), which saves reading it again.
        """

    @abstractmethod
    def distribution(self, feature: str, bins: int = 30) -> dict:
        """Histogram over the labelled sample, repaid (0) and defaulted (1) apart, missing values counted apart.

        Numeric features get `edges` (bins + 1), categorical ones `categories`; KeyError for an unknown feature,
        ValueError unless bins is an integer from 1 to 200.
        """

    @abstractmethod
    def density(self, x: str, y: str, bins: int = 20) -> dict:
        """2-D counts and mean PD per cell over the labelled sample; cells under `min_cell` clients get no PD.

        KeyError for an unknown feature, ValueError unless bins is an integer from 1 to 100.
        """

    @abstractmethod
    def sample_points(self, x: str, y: str, n: int = 1000) -> list[dict]:
        """Up to n labelled-sample clients with both values known, in a fixed random order: {client_id, x, y, pd}.

        Individual rows: for managers only. KeyError for an unknown feature, ValueError unless n is a positive
        integer.
        """

    # --- population views for customers: released once per generation (scoring.store.population) ---------------
    @abstractmethod
    def released_distribution(self, feature: str) -> dict:
        """A customer's histogram: groups of at least min_group clients and noisy counts, fixed at build time.

        KeyError for an unknown feature; AggregatesMissing for a store built before aggregates existed.
        """

    @abstractmethod
    def released_density(self, x: str, y: str) -> dict:
        """A customer's 2-D grid, released for pairs of the grid features only.

        KeyError for an unknown feature, NotReleased for another pair, AggregatesMissing as released_distribution.
        """

    @abstractmethod
    def aggregation(self) -> dict:
        """How customers' aggregates were released (min_group, mechanism, epsilon, grid_features ...); {} if none."""

    # --- human review requests (Consumer Credit Directive 2023/2225, Art. 18): kept across rebuilds -------------
    # A review: {id, client_id, requested_by, requested_at, comment, decision_outcome, model_version,
    # policy_version, status (open/closed), reviewer, reviewed_at, result (upheld/changed), new_outcome, reason}.
    # Texts are at most REVIEW_TEXT_MAX characters, without control characters but newline and tab (ValueError).
    @abstractmethod
    def request_review(self, client_id, requested_by: str, comment: str) -> dict | None:
        """File an open review of the client's stored decision (its outcome, model and policy versions recorded
        with it); None for an unknown client, ReviewConflict while the client has an open one."""

    @abstractmethod
    def client_reviews(self, client_id) -> list[dict]:
        """The client's reviews, newest first ([] for an unknown id)."""

    @abstractmethod
    def list_reviews(self, status=None, limit: int = 20, offset: int = 0) -> dict:
        """{total, items}: open reviews oldest first (the queue), closed ones newest first, all oldest first when
        status is None; ValueError for another status, `limit` held to 0..1000."""

    @abstractmethod
    def get_review(self, review_id) -> dict | None:
        """One review; None for an unknown or malformed id."""

    @abstractmethod
    def close_review(self, review_id, reviewer: str, result: str, reason: str, new_outcome=None) -> dict | None:
        """Record the outcome of an open review: upheld, or changed to `new_outcome` (approve, counter_offer,
        refer or decline, not the outcome reviewed); the closed review, None for an unknown id, ReviewConflict
        when already closed."""

    @abstractmethod
    def review_stats(self) -> dict:
        """{open, closed, upheld, changed, override_rate (changed / closed, None before the first), months:
        [{month (YYYY-MM of the outcome), closed, upheld, changed, override_rate}] oldest first}."""
