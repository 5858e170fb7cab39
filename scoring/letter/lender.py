"""The lender's details a decision letter prints (policies/letter.yaml), read and checked whole before any use."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml


class LetterFileError(ValueError):
    """The lender's letter file cannot be used; the message names the file and the field."""


@dataclass(frozen=True)
class Lender:
    name: str
    address: tuple[str, ...]
    currency: str
    review_email: str
    review_address: tuple[str, ...]
    review_days: int


_TOP = {"name", "address", "currency", "review"}
_REVIEW = {"email", "address", "days"}


def _text(path: Path, field: str, value) -> str:
    if not isinstance(value, str) or not value.strip():
        raise LetterFileError(f"{path}: {field} must be a non-empty text")
    return value.strip()


def _lines(path: Path, field: str, value) -> tuple[str, ...]:
    if not isinstance(value, list) or not value:
        raise LetterFileError(f"{path}: {field} must be a list of one or more lines")
    return tuple(_text(path, f"{field}[{i}]", line) for i, line in enumerate(value))


def _fields(path: Path, where: str, document, expected: set[str]) -> None:
    if not isinstance(document, dict):
        raise LetterFileError(f"{path}: {where or 'the file'} must be a mapping of {', '.join(sorted(expected))}")
    unknown, missing = set(document) - expected, expected - set(document)
    if unknown:
        raise LetterFileError(f"{path}: unknown field(s) {', '.join(sorted(map(str, unknown)))} in {where or 'file'}")
    if missing:
        raise LetterFileError(f"{path}: missing field(s) {', '.join(sorted(missing))} in {where or 'file'}")


def load_lender(path) -> Lender:
    """The checked details of `path`; LetterFileError naming the file and the field for anything unusable."""
    path = Path(path)
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise LetterFileError(f"{path}: cannot be read ({exc.strerror or exc})") from None
    except yaml.YAMLError as exc:
        raise LetterFileError(f"{path}: not valid YAML ({exc})") from None
    _fields(path, "", document, _TOP)
    review = document["review"]
    _fields(path, "review", review, _REVIEW)
    days = review["days"]
    if isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= 365:
        raise LetterFileError(f"{path}: review.days must be a whole number of days from 1 to 365, got {days!r}")
    return Lender(
        name=_text(path, "name", document["name"]),
        address=_lines(path, "address", document["address"]),
        currency=_text(path, "currency", document["currency"]),
        review_email=_text(path, "review.email", review["email"]),
        review_address=_lines(path, "review.address", review["address"]),
        review_days=days,
    )
