"""ModelBundle: the trained model with everything serving needs, saved with a signed SHA-256 manifest.

Load checks the Ed25519 signature of the manifest, then each file's hash, and only then unpickles.
The model itself is of a kind (scoring.model_kinds) named in the saved state.
"""

from __future__ import annotations

import hashlib
import io
import json
from pathlib import Path

import joblib
import numpy as np
import pandas as pd

from scoring import signing
from scoring.encoding import FeatureEncoder
from scoring.model_kinds import ModelKind, kind_class
from scoring.policy import GradeScale, decide_many

MODEL_FILE = "model.joblib"
CARD_JSON = "model_card.json"
CARD_MD = "model_card.md"
MANIFEST = "MANIFEST.sha256"
SIGNATURE = "MANIFEST.sig"
REFERENCE_FILE = "monitoring_reference.json"  # PSI's training reference (scoring.monitoring.reference)
_FILES = (MODEL_FILE, CARD_JSON, CARD_MD)
_OPTIONAL = (REFERENCE_FILE,)  # signed like the others when there; bundles trained before it have none
_FORMAT = 2  # 2 names the model's kind
_FORMAT_1_KIND = "lightgbm"  # format 1 predates kinds: every bundle then held a LightGBM booster


class ModelIntegrityError(ValueError):
    """A model directory whose files are missing, altered or do not belong together."""


class PlattCalibrator:
    """Monotone logistic map of the model's raw log-odds to a calibrated PD: 1 / (1 + exp(-(a*raw + b)))."""

    def __init__(self, a: float = 1.0, b: float = 0.0):
        self.a, self.b = float(a), float(b)

    @classmethod
    def fit(cls, raw, y, max_iter: int = 100) -> "PlattCalibrator":
        """Maximum-likelihood (a, b) by Newton steps; a tiny ridge keeps it defined on separable data."""
        x = np.asarray(raw, dtype=float)
        t = np.asarray(y, dtype=float)
        w = np.zeros(2)
        design = np.column_stack([x, np.ones_like(x)])
        for _ in range(max_iter):
            p = 1.0 / (1.0 + np.exp(-(design @ w)))
            grad = design.T @ (p - t) + 1e-6 * w
            hess = (design * (p * (1 - p))[:, None]).T @ design + 1e-6 * np.eye(2)
            step = np.linalg.solve(hess, grad)
            w -= step
            if np.max(np.abs(step)) < 1e-10:
                break
        if w[0] <= 0:
            raise ValueError("calibration failed: raw scores are not positively related to defaults")
        return cls(w[0], w[1])

    def __call__(self, raw) -> np.ndarray:
        z = self.a * np.asarray(raw, dtype=float) + self.b
        return 1.0 / (1.0 + np.exp(-z))

    def to_dict(self) -> dict:
        return {"kind": "platt", "a": self.a, "b": self.b}


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _write_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text)
    tmp.replace(path)


class ModelBundle:
    """Model of some kind, input encoder, calibrator, threshold, grades, fingerprint, card and importance."""

    def __init__(
        self,
        model: ModelKind,
        encoder: FeatureEncoder,
        calibrator: PlattCalibrator,
        threshold: float,
        grades: GradeScale,
        fingerprint: str,
        version: str,
        card: dict | None = None,
        importance: list[dict] | None = None,
        reference: dict | None = None,
    ):
        self.model = model
        self.encoder = encoder
        self.calibrator = calibrator
        self.threshold = float(threshold)
        self.grades = grades
        self.fingerprint = fingerprint
        self.version = version
        self.card = card or {}
        self.importance = importance or []
        self.reference = reference  # scoring.monitoring.reference; None for a bundle trained before it

    # --- inputs ---------------------------------------------------------------------------------------------
    @property
    def feature_names(self) -> list[str]:
        return self.encoder.feature_names

    @property
    def categories(self) -> dict[str, list[str]]:
        return self.encoder.categories

    def prepare(self, features: pd.DataFrame) -> pd.DataFrame:
        """Columns in training order; categoricals coded on the training levels (unseen level -> missing)."""
        return self.encoder.prepare(features)

    def matrix(self, features: pd.DataFrame) -> np.ndarray:
        """Float matrix the model reads: numeric values, category codes (NaN for missing or unseen level)."""
        return self.encoder.matrix(features)

    # --- predictions ----------------------------------------------------------------------------------------
    def raw_score(self, X) -> np.ndarray:
        """Log-odds of the model (before calibration)."""
        return self.model.raw_score(self.encoder.as_matrix(X))

    def predict_pd(self, X) -> np.ndarray:
        """Calibrated probability of default."""
        return self.calibrator(self.raw_score(X))

    def explain(self, X) -> tuple[float, np.ndarray]:
        """Exact contributions in log-odds (TreeSHAP for LightGBM): base + row.sum() == raw_score for every row."""
        contrib = self.model.contributions(self.encoder.as_matrix(X))
        return float(contrib[0, -1]), contrib[:, :-1]

    def score(self, features: pd.DataFrame, matrix: np.ndarray | None = None) -> pd.DataFrame:
        """PD, grade, decision and raw score per row, indexed like the input (`matrix`: its matrix, if built)."""
        raw = self.raw_score(features if matrix is None else matrix)
        pd_values = self.calibrator(raw)
        return pd.DataFrame(
            {
                "pd": pd_values,
                "grade": self.grades.grade(pd_values),
                "decision": decide_many(pd_values, self.threshold),
                "raw_score": raw,
            },
            index=features.index,
        )

    def score_and_explain(self, features: pd.DataFrame) -> tuple[pd.DataFrame, float, np.ndarray]:
        """score() and explain() of the same rows, the input matrix built once."""
        M = self.matrix(features)
        base, contrib = self.explain(M)
        return self.score(features, M), base, contrib

    # --- persistence ----------------------------------------------------------------------------------------
    def _state(self) -> dict:
        """Plain data only (the kind's own state) so the pickle holds no code of ours."""
        return {
            "format": _FORMAT,
            "kind": self.model.kind,
            "model": self.model.to_state(),
            "feature_names": self.feature_names,
            "categories": self.categories,
            "calibrator": self.calibrator.to_dict(),
            "threshold": self.threshold,
            "grade_bounds": list(self.grades.bounds),
            "grade_names": list(self.grades.names),
            "fingerprint": self.fingerprint,
            "version": self.version,
            "card": self.card,
            "importance": self.importance,
        }

    def save(self, models_dir, signing_key=None) -> None:
        """Write model.joblib, model_card.json, model_card.md, MANIFEST.sha256 over the three, MANIFEST.sig.

        `signing_key`: an Ed25519 private key; default SCORING_SIGNING_KEY's, made on first use.
        """
        from scoring.model_card import render_markdown

        private = signing_key if signing_key is not None else signing.load_or_create_signing_key()
        out = Path(models_dir)
        out.mkdir(parents=True, exist_ok=True)
        for name in (SIGNATURE, MANIFEST):  # a half-written directory never verifies
            (out / name).unlink(missing_ok=True)
        joblib.dump(self._state(), out / MODEL_FILE)
        (out / CARD_JSON).write_text(json.dumps(self.card, indent=2, default=_json_default) + "\n")
        (out / CARD_MD).write_text(render_markdown(self.card))
        (out / REFERENCE_FILE).unlink(missing_ok=True)
        if self.reference is not None:
            from scoring.monitoring.reference import to_json

            (out / REFERENCE_FILE).write_text(to_json(self.reference))
        manifest = "".join(f"{_sha256(out / name)}  {name}\n" for name in bundle_files(out, signed=False))
        _write_atomic(out / MANIFEST, manifest)
        _write_atomic(out / SIGNATURE, signing.sign(private, manifest.encode()))

    @classmethod
    def load(cls, models_dir, verify_key=None) -> "ModelBundle":
        """Check the signature and every hash, then unpickle the verified bytes; ModelIntegrityError otherwise.

        `verify_key`: an Ed25519 public key; default the one in SCORING_VERIFY_KEY. A model registry folder
        (scoring.registry) loads its champion.
        """
        from scoring.registry import bundle_dir

        base = bundle_dir(models_dir)
        blobs = verified_files(base, verify_key)
        state = joblib.load(io.BytesIO(blobs[MODEL_FILE]))  # the bytes that were checked, not a re-read file
        if not isinstance(state, dict) or state.get("format") not in (1, _FORMAT):
            raise ModelIntegrityError(f"{base / MODEL_FILE}: not a model bundle of a supported format")
        card = json.loads(blobs[CARD_JSON])
        if card.get("version") != state["version"] or card.get("fingerprint") != state["fingerprint"]:
            raise ModelIntegrityError(f"{base}: model card and model file come from different trainings")
        try:
            kind = kind_class(state.get("kind") if state["format"] > 1 else _FORMAT_1_KIND)
        except ValueError as exc:
            raise ModelIntegrityError(f"{base / MODEL_FILE}: {exc}") from None
        cal = state["calibrator"]
        return cls(
            model=kind.from_state(state["model"]),
            encoder=FeatureEncoder(state["feature_names"], state["categories"]),
            calibrator=PlattCalibrator(cal["a"], cal["b"]),
            threshold=state["threshold"],
            grades=GradeScale(bounds=tuple(state["grade_bounds"]), names=tuple(state["grade_names"])),
            fingerprint=state["fingerprint"],
            version=state["version"],
            card=state["card"],
            importance=state["importance"],
            reference=_reference(blobs, base, state["version"]),
        )


def _reference(blobs: dict, base: Path, version: str) -> dict | None:
    if REFERENCE_FILE not in blobs:
        return None
    from scoring.monitoring.reference import from_json

    try:
        reference = from_json(blobs[REFERENCE_FILE], str(base / REFERENCE_FILE))
    except ValueError as exc:
        raise ModelIntegrityError(str(exc)) from None
    if reference.get("model_version") != version:
        raise ModelIntegrityError(f"{base / REFERENCE_FILE}: made for another model version")
    return reference


def bundle_files(models_dir, *, signed: bool = True) -> tuple[str, ...]:
    """The files of the bundle in `models_dir`: the three always there, the optional ones it has, and (`signed`)
    the manifest and its signature; what a copy of the bundle must take."""
    base = Path(models_dir)
    names = (*_FILES, *(name for name in _OPTIONAL if (base / name).exists()))
    return (*names, MANIFEST, SIGNATURE) if signed else names


def verified_files(models_dir, verify_key=None) -> dict[str, bytes]:
    """The bundle's files as bytes, once the manifest's signature and each file's SHA-256 are checked."""
    base = Path(models_dir)
    manifest, sig_path = base / MANIFEST, base / SIGNATURE
    if not base.is_dir():
        raise ModelIntegrityError(f"model directory {base} does not exist; train a model first")
    if not manifest.exists():
        raise ModelIntegrityError(f"{manifest} is missing: refusing to load an unverified model")
    if not sig_path.exists():
        raise ModelIntegrityError(
            f"{base}: the model is not signed ({SIGNATURE} missing): refusing to load it; "
            "retrain it (training signs what it writes)"
        )
    try:
        public = verify_key if verify_key is not None else signing.load_verify_key()
    except signing.SigningKeyError as exc:
        raise ModelIntegrityError(f"cannot verify the model in {base}: {exc} (set SCORING_VERIFY_KEY)") from None
    manifest_bytes = manifest.read_bytes()
    problem = signing.verify(public, manifest_bytes, sig_path.read_text(errors="replace"))
    if problem:
        raise ModelIntegrityError(f"{base}: refusing the model, {problem}")
    expected = {}
    for line in manifest_bytes.decode(errors="replace").splitlines():
        parts = line.strip().split(None, 1)
        if len(parts) != 2 or len(parts[0]) != 64:
            raise ModelIntegrityError(f"{manifest}: malformed line {line!r}")
        expected[parts[1].lstrip("*")] = parts[0].lower()
    blobs = {}
    for name in (*_FILES, *(name for name in _OPTIONAL if name in expected)):
        if name not in expected:
            raise ModelIntegrityError(f"{manifest} does not list {name}")
        path = base / name
        if not path.exists():
            raise ModelIntegrityError(f"{path} is missing")
        blobs[name] = path.read_bytes()
        if hashlib.sha256(blobs[name]).hexdigest() != expected[name]:
            raise ModelIntegrityError(f"{path} does not match its SHA-256 in {MANIFEST}: altered or replaced file")
    return blobs


def _json_default(value):
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (np.floating,)):
        return float(value)
    if isinstance(value, np.ndarray):
        return value.tolist()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")
