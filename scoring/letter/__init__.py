"""Decision letters (#12): a declined or counter-offered client's printable letter in English or French, saying
the decision and its date, the score and its range, the principal reasons, the rules that applied, what the client
could change and how to ask for a human review (EU Consumer Credit Directive 2023/2225 Art. 18; Regulation B)."""

from scoring.letter.content import LANGS, OUTCOMES, compose, principal_reasons
from scoring.letter.lender import Lender, LetterFileError, load_lender
from scoring.letter.render import letter_html, render

__all__ = [
    "LANGS",
    "OUTCOMES",
    "Lender",
    "LetterFileError",
    "compose",
    "letter_html",
    "load_lender",
    "principal_reasons",
    "render",
]
