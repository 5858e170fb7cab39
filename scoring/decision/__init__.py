"""Credit decisions as a lender makes them: the policy file, stop factors, affordability, the decision record."""

from scoring.decision.engine import Decisions, decide, decide_many
from scoring.decision.policy_file import Policy, PolicyError, load_policy
from scoring.decision.record import Decision

__all__ = ["Decision", "Decisions", "Policy", "PolicyError", "decide", "decide_many", "load_policy"]
