"""api/audit.py: each client read and each refusal of a request is one audit entry (who, role, client, route, model).

The log itself (chain, verify, export, entries of every route) is tested in tests/test_audit.py.
"""

from __future__ import annotations

from scoring import audit
from tests.api_fixtures import USERNAMES, sign_in


def test_reads_and_refusals_are_audited(fresh_api_client, fresh_api_env):
    client, env = fresh_api_client, fresh_api_env
    customer = sign_in(client, USERNAMES["customer"])
    before = len(audit.read_audit(env["store"]))
    client.get(f"/api/v1/clients/{env['own']}/score", headers=customer)
    client.get(f"/api/v1/clients/{env['other']}/explanation", headers=customer)
    entries = audit.read_audit(env["store"])[before:]
    assert [(e["username"], e["client_id"], e["outcome"]) for e in entries] == [
        ("alice", env["own"], "ok"),
        ("alice", env["other"], "denied"),
    ]
    assert entries[0]["role"] == "customer" and entries[0]["model_version"] and entries[0]["route"].startswith("GET ")
