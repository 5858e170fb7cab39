"""The store interface: the SQLite backend keeps all of it, callers see only the package's public names, the
factory picks the backend from the location, and every table of a built store is the one scoring.store.schema
declares."""

from __future__ import annotations

import ast
import inspect
import sqlite3
from pathlib import Path

import pytest

import scoring.store
from scoring.store import ClientStore, build_store, explain_all, open_store, schema
from scoring.store.sqlite import SQLiteStore

ROOT = Path(__file__).resolve().parents[1]
# the kept tables' own modules: they read and write their tables through the store's connection, schema and byte
# format (scoring.store.blobs, which the monitoring reference uses to read the training split's stored features)
_STORE_FILE_MODULES = {
    "scoring/users.py",
    "scoring/audit.py",
    "scoring/signin_limits.py",
    "scoring/shadow/log.py",
    *(f"scoring/monitoring/{name}.py" for name in ("records", "outcomes", "reference", "performance", "commands")),
}
_STORE_INNER_FOR_KEPT = ("scoring.store.connection", "scoring.store.schema", "scoring.store.blobs")


def test_the_sqlite_backend_implements_every_method_of_the_interface():
    abstract = ClientStore.__abstractmethods__
    assert abstract and not SQLiteStore.__abstractmethods__
    for name in abstract:
        assert name in vars(SQLiteStore), f"SQLiteStore inherits {name} without implementing it"
        assert inspect.signature(getattr(SQLiteStore, name)) == inspect.signature(getattr(ClientStore, name)), name
    public = {n for n in vars(SQLiteStore) if not n.startswith("_")}
    assert public <= abstract, f"public methods outside the interface: {public - abstract}"


def _imports(path: Path):
    """(module, names) of every import in a source file; names is None for a plain `import module`."""
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module:
            yield node.module, [a.name for a in node.names]
        elif isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, None


def _callers():
    for folder in ("api", "scoring", "bench", "deploy", "scripts", "dashboard"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            rel = path.relative_to(ROOT).as_posix()
            if not rel.startswith("scoring/store/"):
                yield rel, path


def test_callers_import_only_the_public_names_of_the_store_package():
    public = set(scoring.store.__all__)
    seen = 0
    for rel, path in _callers():
        for module, names in _imports(path):
            if module == "scoring.store":
                seen += 1
                assert names is not None and set(names) <= public, f"{rel} imports {names} from scoring.store"
            elif module.startswith("scoring.store."):
                allowed = rel in _STORE_FILE_MODULES and module in _STORE_INNER_FOR_KEPT
                assert allowed, f"{rel} imports the store's inner module {module}"
    assert seen >= 4  # the API, the CLI, the benches: the check looked at real callers


def test_nothing_outside_the_package_names_the_sqlite_backend():
    for rel, path in [*_callers(), *((p.relative_to(ROOT).as_posix(), p) for p in (ROOT / "tests").rglob("*.py"))]:
        if rel == "tests/test_store_interface.py":
            continue
        text = path.read_text(encoding="utf-8")
        assert "scoring.store.sqlite" not in text and "SQLiteStore" not in text, rel


def test_open_store_opens_a_store_file(store_path):
    store = open_store(store_path)
    assert isinstance(store, ClientStore)
    cid = store.list_clients(limit=1)["items"][0]["client_id"]
    assert store.get_score(cid)["client_id"] == cid and store.get_score(-1) is None
    assert isinstance(open_store(str(store_path)), ClientStore)


def test_open_store_without_a_file_says_to_build_one(tmp_path):
    with pytest.raises(FileNotFoundError, match="build-store"):
        open_store(tmp_path / "absent.sqlite")


def test_a_postgresql_url_read_as_a_path_is_refused_clearly_not_taken_for_a_file(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for location in (Path("postgresql://scoring:s3cret@db.example/scoring"), "postgres:/db/scoring"):
        for call, args in ((open_store, (location,)), (build_store, (tmp_path, tmp_path, location))):
            with pytest.raises(ValueError, match="read as a file path") as err:
                call(*args)
            assert "s3cret" not in str(err.value)  # a URL may carry a password: never repeated
    with pytest.raises(ValueError, match="read as a file path") as err:
        explain_all(Path("postgresql://scoring:s3cret@db.example/scoring"), tmp_path)
    assert "s3cret" not in str(err.value)
    assert list(tmp_path.iterdir()) == []  # no SQLite file named "postgresql:" or "postgres:"


def test_an_unknown_url_scheme_is_refused(tmp_path):
    with pytest.raises(ValueError, match="unknown store location scheme 'mysql'"):
        open_store("mysql://db/scoring")


def _declared(table: schema.Table) -> list[tuple]:
    return [
        (c.name, schema.SQLITE_TYPES[c.type], int(c.not_null), int(c.name in table.primary_key)) for c in table.columns
    ]


def test_a_built_store_holds_exactly_the_declared_tables(store_path):
    con = sqlite3.connect(f"file:{store_path}?mode=ro", uri=True)
    try:
        names = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        assert names == {t.name for t in schema.TABLES}
        for table in schema.TABLES:
            actual = [(r[1], r[2], r[3], int(r[5] > 0)) for r in con.execute(f"PRAGMA table_info({table.name})")]
            assert actual == _declared(table), table.name
        indexes = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL")}
        assert indexes == {i.name for t in schema.TABLES for i in t.indexes}
        triggers = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'")}
        assert triggers == {"audit_no_update", "audit_no_delete"}
    finally:
        con.close()
