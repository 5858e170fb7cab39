"""Counterfactuals: the smallest changes a client can act on that would make the outcome approve (issue #12).

actions.py holds what can change (the vocabulary, bounds, sizes), apply.py the one function that applies a change
set (the what-if route uses it too), search.py the search, words.py the answer in plain words.
"""

from scoring.counterfactuals.actions import VOCABULARY, check_changes
from scoring.counterfactuals.apply import Client, apply_changes
from scoring.counterfactuals.search import Counterfactuals, Option, search
from scoring.counterfactuals.words import body

__all__ = ["VOCABULARY", "Client", "Counterfactuals", "Option", "apply_changes", "body", "check_changes", "search"]
