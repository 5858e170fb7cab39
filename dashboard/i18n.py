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
    "waterfall_title": {"en": "What moved the score (SHAP)", "fr": "Ce qui a fait bouger le score (SHAP)"},
    "waterfall_axis": {"en": "Contribution to the score (log-odds)", "fr": "Contribution au score (log-odds)"},
    "base": {"en": "Average client", "fr": "Client moyen"},
    "others": {"en": "All other factors", "fr": "Tous les autres facteurs"},
    "final": {"en": "This client", "fr": "Ce client"},
    "waterfall_summary": {
        "en": "Starting from the average client ({base}), the largest effects are: {items}.",
        "fr": "En partant du client moyen ({base}), les effets les plus forts sont : {items}.",
    },
    "waterfall_summary_pd": {
        "en": "Starting from the average client ({base}), the largest effects are: {items}.",
        "fr": "En partant du client moyen ({base}), les effets les plus forts sont : {items}.",
    },
    "waterfall_axis_pd": {"en": "Probability of default (%)", "fr": "Probabilité de défaut (%)"},
    "points_unit": {"en": "pts", "fr": "pts"},
    "waterfall_pd_label_you": {
        "en": "In percentage points of probability of default, from the average client's {base} to your {final}.",
        "fr": "En points de pourcentage de probabilité de défaut, de {base} pour le client moyen à {final} pour vous.",
    },
    "waterfall_pd_label": {
        "en": "In percentage points of probability of default, from the average client's {base} to the client's "
        "{final}.",
        "fr": "En points de pourcentage de probabilité de défaut, de {base} pour le client moyen à {final} pour "
        "le client.",
    },
    "waterfall_pd_note": {
        "en": "The average client is the probability of default at the model's average score (SHAP's base value), "
        "not the average of all clients' probabilities. Each bar is the probability after that factor minus the "
        "probability before it, in the order shown, so the bars add up to the whole difference.",
        "fr": "Le client moyen est la probabilité de défaut au score moyen du modèle (la valeur de base de SHAP), "
        "pas la moyenne des probabilités de tous les clients. Chaque barre est la probabilité après ce facteur "
        "moins celle d'avant, dans l'ordre affiché : les barres s'additionnent jusqu'à l'écart total.",
    },
    "units_legend": {"en": "Units", "fr": "Unités"},
    "units_log_odds": {"en": "Log-odds (exact SHAP)", "fr": "Log-odds (SHAP exact)"},
    "units_pd": {"en": "Percentage points of probability of default", "fr": "Points de probabilité de défaut"},
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
    # the counterfactual card
    "cf_title": {"en": "What would change the decision", "fr": "Ce qui changerait la décision"},
    "cf_result": {
        "en": "New probability of default {pd}, grade {grade}:",
        "fr": "Nouvelle probabilité de défaut {pd}, classe {grade} :",
    },
    "cf_load": {"en": "Load into the what-if", "fr": "Charger dans la simulation"},
    "cf_blocking": {"en": "What no change of the loan can fix", "fr": "Ce qu'aucun changement du prêt ne corrige"},
    "cf_unavailable": {
        "en": "No options can be worked out for this file.",
        "fr": "Aucune option ne peut être calculée pour ce dossier.",
    },
    "cf_loaded": {"en": "Loaded option {rank}:", "fr": "Option {rank} chargée :"},
    "cf_term": {"en": "Term (months)", "fr": "Durée (mois)"},
    "cf_down_payment": {"en": "Down payment", "fr": "Apport"},
    "cf_paydown": {"en": "Debt paid down at the bureau", "fr": "Dette remboursée (bureau de crédit)"},
    # the Decision card
    "decision_title": {"en": "Credit decision", "fr": "Décision de crédit"},
    "counter_offer": {"en": "Counter-offer", "fr": "Contre-proposition"},
    "refer": {"en": "Referred to an adviser", "fr": "Transmis à un conseiller"},
    "technical_refusal": {"en": "Application not usable", "fr": "Demande inutilisable"},
    "outcome_approve_manager": {
        "en": "Every rule passed, the score is under the threshold and the amount asked is affordable.",
        "fr": "Toutes les règles sont passées, le score est sous le seuil et le montant demandé est supportable.",
    },
    "outcome_approve_customer": {
        "en": "Your loan can be granted as you asked.",
        "fr": "Votre prêt peut être accordé tel que vous l'avez demandé.",
    },
    "outcome_counter_offer_manager": {
        "en": "Approved for a smaller amount: the amount asked is over the affordability cap.",
        "fr": "Accordé pour un montant plus petit : le montant demandé dépasse le plafond d'endettement.",
    },
    "outcome_counter_offer_customer": {
        "en": "We can lend you a smaller amount than you asked.",
        "fr": "Nous pouvons vous prêter un montant plus petit que celui demandé.",
    },
    "outcome_refer_manager": {
        "en": "A rule sends this application to manual review: an analyst decides.",
        "fr": "Une règle transmet cette demande en examen manuel : un analyste décide.",
    },
    "outcome_refer_customer": {
        "en": "An adviser will look at your application and contact you.",
        "fr": "Un conseiller va examiner votre demande et vous contacter.",
    },
    "outcome_decline_manager": {
        "en": "Declined by the steps below.",
        "fr": "Refusé par les étapes ci-dessous.",
    },
    "outcome_decline_customer": {
        "en": "We cannot grant this loan, for the reasons below.",
        "fr": "Nous ne pouvons pas accorder ce prêt, pour les raisons ci-dessous.",
    },
    "outcome_technical_refusal_manager": {
        "en": "The application is not usable as it stands: it was not scored.",
        "fr": "La demande n'est pas utilisable en l'état : elle n'a pas été notée.",
    },
    "outcome_technical_refusal_customer": {
        "en": "Your application is incomplete or inconsistent; please check it with us.",
        "fr": "Votre demande est incomplète ou incohérente ; vérifiez-la avec nous.",
    },
    "decision_reasons": {"en": "Why", "fr": "Pourquoi"},
    "rules_fired": {"en": "Rules that fired", "fr": "Règles déclenchées"},
    "no_rule_fired": {"en": "No rule fired.", "fr": "Aucune règle ne s'est déclenchée."},
    "rule_decline": {"en": "declines", "fr": "refuse"},
    "rule_refer": {"en": "refers to review", "fr": "transmet en examen"},
    "rule_info": {"en": "recorded only", "fr": "noté seulement"},
    "rule_seen": {"en": "(seen {seen}; fires when {rule})", "fr": "(valeur vue {seen} ; se déclenche si {rule})"},
    "technical_issues": {"en": "What makes it unusable", "fr": "Ce qui la rend inutilisable"},
    "affordability": {"en": "Affordability", "fr": "Capacité de remboursement"},
    "afford_not_evaluated": {
        "en": "Not assessed: a rule on the application declined it first.",
        "fr": "Non évaluée : une règle sur la demande l'a refusée avant.",
    },
    "afford_dsti": {"en": "Repayments over income (DSTI)", "fr": "Remboursements sur revenus (taux d'endettement)"},
    "afford_dsti_value": {"en": "{dsti} (cap {cap})", "fr": "{dsti} (plafond {cap})"},
    "afford_income": {"en": "Monthly income", "fr": "Revenu mensuel"},
    "afford_existing": {"en": "Existing repayments a month", "fr": "Remboursements existants par mois"},
    "afford_requested": {"en": "Amount asked", "fr": "Montant demandé"},
    "afford_new_annuity": {"en": "New repayment a month", "fr": "Nouvelle mensualité"},
    "afford_max_amount": {"en": "Largest affordable amount", "fr": "Montant maximal supportable"},
    "offer": {"en": "Offer", "fr": "Offre"},
    "offer_if_approved": {"en": "Offer, if the review approves it", "fr": "Offre, si l'examen l'accepte"},
    "offer_terms": {
        "en": "{amount} over {months} months: {annuity} a month at {rate} a year.",
        "fr": "{amount} sur {months} mois : {annuity} par mois à {rate} par an.",
    },
    "pre_approved": {"en": "Pre-approved offer", "fr": "Offre pré-accordée"},
    "pre_approved_rank": {
        "en": "Rank {rank} of {total} in the campaign of {date}.",
        "fr": "Rang {rank} sur {total} dans la campagne du {date}.",
    },
    "policy_version": {"en": "Policy version", "fr": "Version de la politique"},
    # the decision letter (dashboard/letter.py)
    "letter_link": {
        "en": "Decision letter (printable, opens in a new tab)",
        "fr": "Lettre de décision (à imprimer, s'ouvre dans un nouvel onglet)",
    },
    "letter_none": {
        "en": "There is no decision letter for this application: it was not declined or counter-offered.",
        "fr": "Il n'y a pas de lettre de décision pour cette demande : elle n'a été ni refusée ni contre-proposée.",
    },
    "letter_back": {"en": "Back to the dashboard", "fr": "Retour au tableau de bord"},
    # the campaign page
    "campaign_link": {"en": "Pre-approved offers", "fr": "Offres pré-accordées"},
    "campaign_title": {"en": "Pre-approved offers", "fr": "Offres pré-accordées"},
    "campaign_meta": {
        "en": "Campaign of {date}: {offers} offers to {scored} clients scored, policy {policy}, model {model}. "
        "Ranked by probability of default, lowest first.",
        "fr": "Campagne du {date} : {offers} offres pour {scored} clients notés, politique {policy}, modèle {model}. "
        "Classées par probabilité de défaut, la plus faible d'abord.",
    },
    "no_campaign": {
        "en": "No campaign has been run on this store yet.",
        "fr": "Aucune campagne n'a encore été lancée sur cette base.",
    },
    "min_amount": {"en": "Smallest amount", "fr": "Montant minimal"},
    "max_amount": {"en": "Largest amount", "fr": "Montant maximal"},
    "download_csv": {"en": "Download CSV", "fr": "Télécharger en CSV"},
    "offers_results": {"en": "{total} offers, {start}–{end} shown", "fr": "{total} offres, {start}–{end} affichées"},
    "rank": {"en": "Rank", "fr": "Rang"},
    "amount_col": {"en": "Amount", "fr": "Montant"},
    "monthly_col": {"en": "A month", "fr": "Par mois"},
    "months_col": {"en": "Months", "fr": "Mois"},
    # human review (Consumer Credit Directive, Art. 18): the client's card and the managers' page
    "review_title": {"en": "Human review", "fr": "Réexamen par une personne"},
    "review_right_customer": {
        "en": "Your application was assessed automatically: you may give your view and ask a person to review the "
        "decision.",
        "fr": "Votre demande a été évaluée automatiquement : vous pouvez donner votre avis et demander qu'une "
        "personne réexamine la décision.",
    },
    "review_right_manager": {
        "en": "The customer may ask a person to review this automated decision; record the outcome and its reason "
        "here: the customer reads them.",
        "fr": "Le client peut demander qu'une personne réexamine cette décision automatisée ; enregistrez ici le "
        "résultat et son motif : le client les lira.",
    },
    "review_comment_label": {
        "en": "Your view: what should the reviewer know?",
        "fr": "Votre avis : que doit savoir la personne qui réexamine ?",
    },
    "review_send": {"en": "Ask for a human review", "fr": "Demander un réexamen"},
    "review_pending": {
        "en": "Your request of {date} is being reviewed by a person.",
        "fr": "Votre demande du {date} est en cours de réexamen par une personne.",
    },
    "review_open_manager": {
        "en": "Open request of {date}, filed by {by}, on the decision: {outcome}.",
        "fr": "Demande ouverte du {date}, déposée par {by}, sur la décision : {outcome}.",
    },
    "review_no_comment": {"en": "(no comment)", "fr": "(sans commentaire)"},
    "review_none_open": {"en": "No open review request.", "fr": "Aucune demande de réexamen ouverte."},
    "review_result_legend": {"en": "Outcome of the review", "fr": "Résultat du réexamen"},
    "review_upheld": {"en": "Upheld", "fr": "Maintenue"},
    "review_changed": {"en": "Changed", "fr": "Modifiée"},
    "review_new_outcome_legend": {"en": "New decision, when changed", "fr": "Nouvelle décision, si modifiée"},
    "review_reason_label": {"en": "Reason (the customer reads it)", "fr": "Motif (le client le lira)"},
    "review_record": {"en": "Record the outcome", "fr": "Enregistrer le résultat"},
    "review_saved": {"en": "Sent.", "fr": "Envoyé."},
    "review_answer_upheld": {
        "en": "Reviewed on {date}: the decision is upheld.",
        "fr": "Réexaminée le {date} : la décision est maintenue.",
    },
    "review_answer_changed": {
        "en": "Reviewed on {date}: the decision is changed to: {outcome}.",
        "fr": "Réexaminée le {date} : la décision devient : {outcome}.",
    },
    "review_reason": {"en": "Reason", "fr": "Motif"},
    "review_comment": {"en": "Comment", "fr": "Commentaire"},
    "review_by": {"en": "Reviewed by {by}.", "fr": "Réexaminée par {by}."},
    "review_history": {"en": "Past reviews", "fr": "Réexamens passés"},
    "reviews_link": {"en": "Human reviews", "fr": "Réexamens"},
    "queue_title": {"en": "Human review requests", "fr": "Demandes de réexamen"},
    "queue_open": {"en": "Open requests, oldest first", "fr": "Demandes ouvertes, les plus anciennes d'abord"},
    "queue_empty": {"en": "No open request.", "fr": "Aucune demande ouverte."},
    "queue_results": {
        "en": "Open requests: {total}; {start}–{end} shown",
        "fr": "Demandes ouvertes : {total} ; {start}–{end} affichées",
    },
    "queue_requested": {"en": "Asked on", "fr": "Demandée le"},
    "queue_decision": {"en": "Decision reviewed", "fr": "Décision réexaminée"},
    "queue_stats": {
        "en": "Open: {open}. Answered: {closed} (upheld: {upheld}, changed: {changed}). Override rate: {rate}.",
        "fr": "Ouvertes : {open}. Traitées : {closed} (maintenues : {upheld}, modifiées : {changed}). "
        "Taux de modification : {rate}.",
    },
    "stats_month": {"en": "Month", "fr": "Mois"},
    "stats_answered": {"en": "Answered", "fr": "Traitées"},
    "override_rate": {"en": "Override rate", "fr": "Taux de modification"},
    # the monitoring page (managers): drift, performance, challenger
    "monitoring_link": {"en": "Monitoring", "fr": "Surveillance"},
    "mon_title": {"en": "Model monitoring", "fr": "Surveillance du modèle"},
    "mon_intro": {
        "en": "How the applications scored since training compare with the training data, how the scores predicted "
        "the outcomes, and how a challenger model would have decided.",
        "fr": "Comment les demandes notées depuis l'entraînement se comparent aux données d'entraînement, comment les "
        "scores ont prédit les résultats, et comment un modèle challenger aurait décidé.",
    },
    "mon_period": {"en": "Period", "fr": "Période"},
    "mon_day": {"en": "Day", "fr": "Jour"},
    "mon_week": {"en": "Week", "fr": "Semaine"},
    "mon_month": {"en": "Month", "fr": "Mois"},
    "mon_stability": {"en": "Stability of the population (PSI)", "fr": "Stabilité de la population (PSI)"},
    "mon_reference": {
        "en": "Reference: {n} training applications of model {model} ({source}).",
        "fr": "Référence : {n} demandes d'entraînement du modèle {model} ({source}).",
    },
    "mon_source_bundle": {"en": "saved with the model", "fr": "enregistrée avec le modèle"},
    "mon_source_store": {"en": "taken from the client store", "fr": "tirée de la base clients"},
    "mon_levels": {
        "en": "Population stability index (PSI) of the scores against the reference: under {watch} stable, from "
        "{watch} watch, from {act} act (the population has moved: review the model).",
        "fr": "Indice de stabilité de la population (PSI) des scores par rapport à la référence : sous {watch} stable, "
        "à partir de {watch} à surveiller, à partir de {act} agir (la population a changé : revoir le modèle).",
    },
    "mon_psi_axis": {"en": "Score PSI", "fr": "PSI du score"},
    "mon_level_stable": {"en": "Stable", "fr": "Stable"},
    "mon_level_watch": {"en": "Watch", "fr": "À surveiller"},
    "mon_level_act": {"en": "Act", "fr": "Agir"},
    "mon_level_none": {"en": "Too few applications", "fr": "Trop peu de demandes"},
    "mon_psi_summary": {
        "en": "Latest period {period}: score PSI {psi}, {level}.",
        "fr": "Dernière période {period} : PSI du score {psi}, {level}.",
    },
    "mon_psi_summary_none": {
        "en": "Latest period {period}: too few applications for a PSI.",
        "fr": "Dernière période {period} : trop peu de demandes pour un PSI.",
    },
    "mon_no_applications": {
        "en": "No application has been scored by this model since training: nothing to compare yet.",
        "fr": "Aucune demande n'a encore été notée par ce modèle depuis l'entraînement : rien à comparer.",
    },
    "mon_col_period": {"en": "Period", "fr": "Période"},
    "mon_col_applications": {"en": "Applications", "fr": "Demandes"},
    "mon_col_psi": {"en": "Score PSI", "fr": "PSI du score"},
    "mon_col_level": {"en": "Level", "fr": "Niveau"},
    "mon_features": {"en": "PSI of the top features", "fr": "PSI des principales caractéristiques"},
    "mon_features_caption": {
        "en": "Feature PSI by period; ◆ watch, ▲ act, — too few applications.",
        "fr": "PSI des caractéristiques par période ; ◆ à surveiller, ▲ agir, — trop peu de demandes.",
    },
    "mon_col_feature": {"en": "Feature", "fr": "Caractéristique"},
    "mon_performance": {"en": "Performance", "fr": "Performance"},
    "mon_no_outcomes": {
        "en": "No outcomes imported yet: AUC, observed default rates and calibration need the repaid or defaulted "
        "loans (python -m scoring outcomes import FILE).",
        "fr": "Aucun résultat importé pour l'instant : l'AUC, les taux de défaut observés et la calibration demandent "
        "les prêts remboursés ou en défaut (python -m scoring outcomes import FILE).",
    },
    "mon_col_scored": {"en": "Scored", "fr": "Notées"},
    "mon_col_outcomes": {"en": "Outcomes", "fr": "Résultats"},
    "mon_col_approval": {"en": "Approval rate", "fr": "Taux d'acceptation"},
    "mon_col_predicted": {"en": "Predicted default rate", "fr": "Taux de défaut prédit"},
    "mon_col_observed": {"en": "Observed default rate", "fr": "Taux de défaut observé"},
    "mon_col_auc": {"en": "AUC", "fr": "AUC"},
    "mon_col_gini": {"en": "Gini", "fr": "Gini"},
    "mon_auc_axis": {"en": "AUC and Gini", "fr": "AUC et Gini"},
    "mon_auc_summary": {
        "en": "Latest period with outcomes {period}: AUC {auc}, Gini {gini}.",
        "fr": "Dernière période avec résultats {period} : AUC {auc}, Gini {gini}.",
    },
    "mon_calibration": {"en": "Calibration by grade", "fr": "Calibration par classe"},
    "mon_calibration_x": {"en": "Predicted probability of default (%)", "fr": "Probabilité de défaut prédite (%)"},
    "mon_calibration_y": {"en": "Observed default rate (%)", "fr": "Taux de défaut observé (%)"},
    "mon_calibration_diagonal": {"en": "Perfect calibration", "fr": "Calibration parfaite"},
    "mon_calibration_summary": {
        "en": "Each point is a grade: on the diagonal, the grade defaults as often as predicted; above it, more often.",
        "fr": "Chaque point est une classe : sur la diagonale, la classe fait défaut aussi souvent que prévu ; "
        "au-dessus, plus souvent.",
    },
    "mon_col_grade": {"en": "Grade", "fr": "Classe"},
    "mon_col_predicted_pd": {"en": "Predicted PD", "fr": "PD prédite"},
    "mon_override": {"en": "Override rate of human reviews", "fr": "Taux de modification des réexamens"},
    "mon_challenger": {"en": "Challenger against champion", "fr": "Challenger face au champion"},
    "mon_no_challenger": {
        "en": "No challenger set: name one (python -m scoring models challenger VERSION) to score every application "
        "with it in shadow and compare it here.",
        "fr": "Aucun challenger désigné : désignez-en un (python -m scoring models challenger VERSION) pour noter "
        "chaque demande avec lui en parallèle et le comparer ici.",
    },
    "mon_champion_line": {
        "en": "Champion {champion} decides; challenger {challenger} is scored in shadow.",
        "fr": "Le champion {champion} décide ; le challenger {challenger} est noté en parallèle.",
    },
    "mon_no_comparison": {
        "en": "No application has been scored by both models yet.",
        "fr": "Aucune demande n'a encore été notée par les deux modèles.",
    },
    "mon_col_agreement": {"en": "Same decision", "fr": "Même décision"},
    "mon_col_swap_in": {"en": "Swap-ins", "fr": "Entrées"},
    "mon_col_swap_out": {"en": "Swap-outs", "fr": "Sorties"},
    "mon_col_pd_champion": {"en": "Mean PD, champion", "fr": "PD moyenne, champion"},
    "mon_col_pd_challenger": {"en": "Mean PD, challenger", "fr": "PD moyenne, challenger"},
    "mon_col_auc_champion": {"en": "AUC, champion", "fr": "AUC, champion"},
    "mon_col_auc_challenger": {"en": "AUC, challenger", "fr": "AUC, challenger"},
    "mon_swaps_note": {
        "en": "Swap-ins: applications the challenger would approve and the champion declined; swap-outs: the reverse.",
        "fr": "Entrées : demandes que le challenger accepterait et que le champion a refusées ; sorties : l'inverse.",
    },
    "mon_share_axis": {"en": "Share (0 to 1)", "fr": "Part (0 à 1)"},
    "mon_managers_only": {"en": "This page is for managers.", "fr": "Cette page est réservée aux gestionnaires."},
    "language": {"en": "Français", "fr": "English"},
    "skip": {"en": "Skip to content", "fr": "Aller au contenu"},
}


def t(key: str, lang: str, **values) -> str:
    text = STRINGS[key].get(lang) or STRINGS[key]["en"]
    return text.format(**values) if values else text


def lead(key: str, lang: str) -> str:
    """A label and its colon as the language writes them: "Reason: " in English, "Motif : " in French."""
    return t(key, lang) + (f"{NBSP}: " if lang == "fr" else ": ")


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
