"""English and French: interface strings, and numbers, money and percentages formatted per language."""

from __future__ import annotations

LANGS = ("en", "fr")
NBSP = "\u202f"

STRINGS = {
    "title": {
        "en": "Prêt à dépenser: credit decisions explained",
        "fr": "Prêt à dépenser : décisions de crédit expliquées",
    },
    "sign_in": {"en": "Sign in", "fr": "Se connecter"},
    "username": {"en": "Username", "fr": "Identifiant"},
    "password": {"en": "Password", "fr": "Mot de passe"},
    "sign_out": {"en": "Sign out", "fr": "Se déconnecter"},
    "bad_credentials": {"en": "Wrong username or password.", "fr": "Identifiant ou mot de passe incorrect."},
    "too_many_attempts": {
        "en": "Too many sign-in attempts: wait a few minutes, then try again.",
        "fr": "Trop de tentatives de connexion : attendez quelques minutes, puis réessayez.",
    },
    "expired": {
        "en": "Your session has expired: please sign in again.",
        "fr": "Votre session a expiré : veuillez vous reconnecter.",
    },
    "signed_out": {"en": "You are signed out.", "fr": "Vous êtes déconnecté."},
    "form_refused": {
        "en": "This sign-in form was not sent from this site, or it is too old. Open the sign-in page and try again.",
        "fr": "Ce formulaire de connexion ne vient pas de ce site, ou il est trop ancien. "
        "Rouvrez la page de connexion et réessayez.",
    },
    "api_down": {
        "en": "The scoring service is not answering. Figures below may be missing; try again in a moment.",
        "fr": "Le service de notation ne répond pas. Des éléments peuvent manquer ; réessayez dans un instant.",
    },
    "chart_failed": {
        "en": "This part could not be loaded: the scoring service did not answer.",
        "fr": "Cette partie n'a pas pu être chargée : le service de notation n'a pas répondu.",
    },
    "synthetic": {
        "en": "Synthetic demo data: these are not real clients.",
        "fr": "Données de démonstration synthétiques : ce ne sont pas de vrais clients.",
    },
    "search_title": {"en": "Find a client", "fr": "Trouver un client"},
    "search_label": {"en": "Client id (or its first digits)", "fr": "Identifiant client (ou ses premiers chiffres)"},
    "grade_filter": {"en": "Risk grade", "fr": "Classe de risque"},
    "decision_filter": {"en": "Decision", "fr": "Décision"},
    "any": {"en": "Any", "fr": "Toutes"},
    "previous": {"en": "Previous", "fr": "Précédent"},
    "next": {"en": "Next", "fr": "Suivant"},
    "results": {"en": "{total} clients, {start}–{end} shown", "fr": "{total} clients, {start}–{end} affichés"},
    "client": {"en": "Client", "fr": "Client"},
    "pd": {"en": "Probability of default", "fr": "Probabilité de défaut"},
    "grade": {"en": "Grade", "fr": "Classe"},
    "decision": {"en": "Decision", "fr": "Décision"},
    "approve": {"en": "Approved", "fr": "Accordé"},
    "decline": {"en": "Declined", "fr": "Refusé"},
    "open": {"en": "Open file", "fr": "Ouvrir le dossier"},
    "back": {"en": "Back to search", "fr": "Retour à la recherche"},
    "score_title": {"en": "Score", "fr": "Score"},
    "gauge_summary": {
        "en": "Estimated probability of default {pd}; the bank declines from {threshold}. Grade {grade}: {decision}.",
        "fr": "Probabilité de défaut estimée {pd} ; la banque refuse à partir de {threshold}. Classe {grade} : {decision}.",
    },
    "model_version": {"en": "Model version", "fr": "Version du modèle"},
    "why_title": {"en": "Why this decision", "fr": "Pourquoi cette décision"},
    "waterfall_title": {
        "en": "What moved the score (SHAP, log-odds)",
        "fr": "Ce qui a fait bouger le score (SHAP, log-odds)",
    },
    "waterfall_axis": {"en": "Contribution to the score (log-odds)", "fr": "Contribution au score (log-odds)"},
    "base": {"en": "Average client", "fr": "Client moyen"},
    "others": {"en": "All other factors", "fr": "Tous les autres facteurs"},
    "final": {"en": "This client", "fr": "Ce client"},
    "waterfall_summary": {
        "en": "Starting from the average client ({base}), the largest effects are: {items}.",
        "fr": "En partant du client moyen ({base}), les effets les plus forts sont : {items}.",
    },
    "raises": {"en": "raises risk", "fr": "augmente le risque"},
    "lowers": {"en": "lowers risk", "fr": "diminue le risque"},
    "importance_title": {"en": "What matters overall", "fr": "Ce qui compte en général"},
    "importance_axis": {
        "en": "Average effect on the score (mean |SHAP|, log-odds)",
        "fr": "Effet moyen sur le score (|SHAP| moyen, log-odds)",
    },
    "importance_summary": {
        "en": "Across all clients, the model relies most on: {items}.",
        "fr": "Sur l'ensemble des clients, le modèle s'appuie surtout sur : {items}.",
    },
    "compare_title": {"en": "Compared with other clients", "fr": "Comparé aux autres clients"},
    "feature_pick": {"en": "Characteristic", "fr": "Caractéristique"},
    "x_pick": {"en": "Horizontal axis", "fr": "Axe horizontal"},
    "y_pick": {"en": "Vertical axis", "fr": "Axe vertical"},
    "repaid": {"en": "Repaid", "fr": "Remboursé"},
    "defaulted": {"en": "Defaulted", "fr": "En défaut"},
    "share_axis": {"en": "Share of group (%)", "fr": "Part du groupe (%)"},
    "dist_summary": {
        "en": "{label}: this client's value is {value}, higher than {pct} of clients.",
        "fr": "{label} : la valeur de ce client est {value}, plus élevée que celle de {pct} des clients.",
    },
    "dist_summary_cat": {
        "en": "{label}: this client's value is {value}.",
        "fr": "{label} : la valeur de ce client est {value}.",
    },
    "dist_missing": {"en": "{label}: no value for this client.", "fr": "{label} : pas de valeur pour ce client."},
    "this_client": {"en": "This client", "fr": "Ce client"},
    "biv_points": {
        "en": "{n} clients drawn at random, coloured by probability of default; the star is this client.",
        "fr": "{n} clients tirés au hasard, colorés selon la probabilité de défaut ; l'étoile est ce client.",
    },
    "biv_density": {
        "en": "How many clients fall in each area (groups, never individuals); the star is you.",
        "fr": "Nombre de clients par zone (des groupes, jamais des individus) ; l'étoile, c'est vous.",
    },
    "clients_count": {"en": "Clients", "fr": "Clients"},
    "file_title": {"en": "The file", "fr": "Le dossier"},
    "history_title": {"en": "Credit history", "fr": "Historique de crédit"},
    "field": {"en": "Field", "fr": "Champ"},
    "value": {"en": "Value", "fr": "Valeur"},
    "whatif_title": {"en": "What if the loan changed?", "fr": "Et si le prêt changeait ?"},
    "whatif_note": {
        "en": "Simulation: nothing is stored and the client's file and score stay as they are.",
        "fr": "Simulation : rien n'est enregistré, le dossier et le score du client ne changent pas.",
    },
    "amount": {"en": "Amount of the loan", "fr": "Montant du prêt"},
    "annuity": {"en": "Annuity (repayment)", "fr": "Annuité (remboursement)"},
    "goods": {"en": "Price of the goods", "fr": "Prix du bien"},
    "term": {"en": "Term in months (sets the annuity)", "fr": "Durée en mois (fixe l'annuité)"},
    "simulate": {"en": "Simulate", "fr": "Simuler"},
    "current": {"en": "Current", "fr": "Actuel"},
    "simulated": {"en": "Simulated", "fr": "Simulé"},
    "invalid": {"en": "Check the values: {msg}", "fr": "Vérifiez les valeurs : {msg}"},
    "not_found": {"en": "No such client.", "fr": "Client introuvable."},
    "language": {"en": "Français", "fr": "English"},
    "skip": {"en": "Skip to content", "fr": "Aller au contenu"},
}


def t(key: str, lang: str, **values) -> str:
    text = STRINGS[key].get(lang) or STRINGS[key]["en"]
    return text.format(**values) if values else text


def number(value, lang: str, decimals: int = 0) -> str:
    if value is None:
        return "—"
    text = f"{value:,.{decimals}f}"
    if lang == "fr":
        text = text.replace(",", NBSP).replace(".", ",")
    return text


def money(value, lang: str) -> str:
    return "—" if value is None else (f"{number(value, lang)}{NBSP}€" if lang == "fr" else f"€{number(value, lang)}")


def percent(share, lang: str, decimals: int = 1) -> str:
    """A probability (0..1) as a percentage."""
    return "—" if share is None else f"{number(100 * share, lang, decimals)}{NBSP}%"
