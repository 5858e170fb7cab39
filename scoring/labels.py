"""Readable labels (English, French), groups and units of every raw application field and every feature."""

from __future__ import annotations

import functools

from scoring.tables import NO_DATE_DAYS, SCHEMAS
from scoring.values import is_missing

LANGS = ("en", "fr")
GROUPS = (
    "identity",
    "income_employment",
    "loan",
    "housing",
    "external_scores",
    "bureau",
    "previous_applications",
    "instalments",
    "pos_cash",
    "credit_card",
    "engineered",
)
GROUP_TITLES = {
    "identity": ("Identity and family", "Identité et famille"),
    "income_employment": ("Income and employment", "Revenus et emploi"),
    "loan": ("The loan requested", "Le crédit demandé"),
    "housing": ("Housing and assets", "Logement et patrimoine"),
    "external_scores": ("External scores and enquiries", "Scores externes et consultations"),
    "bureau": ("Credits at other lenders (bureau)", "Crédits chez d'autres prêteurs (bureau)"),
    "previous_applications": ("Previous applications with us", "Demandes précédentes chez nous"),
    "instalments": ("Instalment payments", "Paiement des échéances"),
    "pos_cash": ("Point-of-sale and cash loans", "Crédits point de vente et prêts personnels"),
    "credit_card": ("Credit cards", "Cartes de crédit"),
    "engineered": ("Computed indicators", "Indicateurs calculés"),
}
CLIENT_FILE_GROUPS = ("identity", "income_employment", "loan", "housing", "external_scores")
_YEAR_DAYS = ("DAYS_BIRTH", "DAYS_EMPLOYED", "DAYS_REGISTRATION", "DAYS_ID_PUBLISH", "DAYS_LAST_PHONE_CHANGE")

# name: (group, unit, English, French) -- our own wording, written for a client file and reason sentences.
_RAW = {
    "SK_ID_CURR": ("identity", None, "Client number", "Numéro de client"),
    "NAME_CONTRACT_TYPE": ("loan", None, "Kind of loan", "Type de crédit"),
    "CODE_GENDER": ("identity", None, "Gender", "Genre"),
    "FLAG_OWN_CAR": ("housing", None, "Owns a car", "Possède une voiture"),
    "FLAG_OWN_REALTY": ("housing", None, "Owns a home", "Propriétaire d'un logement"),
    "CNT_CHILDREN": ("identity", "count", "Number of children", "Nombre d'enfants"),
    "AMT_INCOME_TOTAL": ("income_employment", "currency", "Yearly income", "Revenu annuel"),
    "AMT_CREDIT": ("loan", "currency", "Amount of the loan", "Montant du crédit"),
    "AMT_ANNUITY": ("loan", "currency", "Loan repayment per year", "Remboursement annuel du crédit"),
    "AMT_GOODS_PRICE": ("loan", "currency", "Price of the goods financed", "Prix du bien financé"),
    "NAME_TYPE_SUITE": ("loan", None, "Who came with the applicant", "Accompagnant lors de la demande"),
    "NAME_INCOME_TYPE": ("income_employment", None, "Source of income", "Source de revenus"),
    "NAME_EDUCATION_TYPE": ("identity", None, "Education", "Niveau d'études"),
    "NAME_FAMILY_STATUS": ("identity", None, "Family situation", "Situation familiale"),
    "NAME_HOUSING_TYPE": ("housing", None, "Housing situation", "Type de logement"),
    "REGION_POPULATION_RELATIVE": (
        "housing",
        "ratio",
        "Population density of the home region",
        "Densité de population de la région",
    ),
    "DAYS_BIRTH": ("identity", "years", "Age", "Âge"),
    "DAYS_EMPLOYED": ("income_employment", "years", "Time in current job", "Ancienneté dans l'emploi actuel"),
    "DAYS_REGISTRATION": (
        "identity",
        "years",
        "Time since the registration was changed",
        "Ancienneté de l'enregistrement administratif",
    ),
    "DAYS_ID_PUBLISH": (
        "identity",
        "years",
        "Time since the identity document was issued",
        "Ancienneté de la pièce d'identité",
    ),
    "OWN_CAR_AGE": ("housing", "years", "Age of the car", "Âge de la voiture"),
    "FLAG_MOBIL": ("identity", None, "Gave a mobile phone", "A donné un téléphone mobile"),
    "FLAG_EMP_PHONE": ("income_employment", None, "Gave an employer phone", "A donné le téléphone de l'employeur"),
    "FLAG_WORK_PHONE": ("income_employment", None, "Gave a work phone", "A donné un téléphone professionnel"),
    "FLAG_CONT_MOBILE": ("identity", None, "Mobile phone reachable", "Téléphone mobile joignable"),
    "FLAG_PHONE": ("identity", None, "Gave a home phone", "A donné un téléphone fixe"),
    "FLAG_EMAIL": ("identity", None, "Gave an e-mail address", "A donné une adresse e-mail"),
    "OCCUPATION_TYPE": ("income_employment", None, "Occupation", "Profession"),
    "CNT_FAM_MEMBERS": ("identity", "count", "People in the household", "Personnes dans le foyer"),
    "REGION_RATING_CLIENT": (
        "housing",
        None,
        "Rating of the home region (1 best, 3 worst)",
        "Note de la région de résidence (1 meilleure, 3 moins bonne)",
    ),
    "REGION_RATING_CLIENT_W_CITY": (
        "housing",
        None,
        "Rating of the home region and city (1 best, 3 worst)",
        "Note de la région et de la ville (1 meilleure, 3 moins bonne)",
    ),
    "WEEKDAY_APPR_PROCESS_START": (
        "loan",
        None,
        "Day of the week the application was made",
        "Jour de la semaine de la demande",
    ),
    "HOUR_APPR_PROCESS_START": ("loan", None, "Hour the application was made", "Heure de la demande"),
    "REG_REGION_NOT_LIVE_REGION": (
        "housing",
        None,
        "Registered in another region than where living",
        "Domicilié dans une autre région que celle de résidence",
    ),
    "REG_REGION_NOT_WORK_REGION": (
        "housing",
        None,
        "Registered in another region than where working",
        "Domicilié dans une autre région que celle du travail",
    ),
    "LIVE_REGION_NOT_WORK_REGION": (
        "housing",
        None,
        "Lives in another region than where working",
        "Réside dans une autre région que celle du travail",
    ),
    "REG_CITY_NOT_LIVE_CITY": (
        "housing",
        None,
        "Registered in another city than where living",
        "Domicilié dans une autre ville que celle de résidence",
    ),
    "REG_CITY_NOT_WORK_CITY": (
        "housing",
        None,
        "Registered in another city than where working",
        "Domicilié dans une autre ville que celle du travail",
    ),
    "LIVE_CITY_NOT_WORK_CITY": (
        "housing",
        None,
        "Lives in another city than where working",
        "Réside dans une autre ville que celle du travail",
    ),
    "ORGANIZATION_TYPE": ("income_employment", None, "Employer's sector", "Secteur de l'employeur"),
    "EXT_SOURCE_1": ("external_scores", None, "External credit score 1", "Score de crédit externe 1"),
    "EXT_SOURCE_2": ("external_scores", None, "External credit score 2", "Score de crédit externe 2"),
    "EXT_SOURCE_3": ("external_scores", None, "External credit score 3", "Score de crédit externe 3"),
    "FONDKAPREMONT_MODE": ("housing", None, "Building: repair fund", "Immeuble : fonds de travaux"),
    "HOUSETYPE_MODE": ("housing", None, "Building: kind of house", "Immeuble : type de bâtiment"),
    "TOTALAREA_MODE": ("housing", "ratio", "Building: total area (scaled)", "Immeuble : surface totale (normalisée)"),
    "WALLSMATERIAL_MODE": ("housing", None, "Building: wall material", "Immeuble : matériau des murs"),
    "EMERGENCYSTATE_MODE": ("housing", None, "Building: in emergency state", "Immeuble : en état d'urgence"),
    "OBS_30_CNT_SOCIAL_CIRCLE": (
        "external_scores",
        "count",
        "Acquaintances with a loan 30+ days overdue",
        "Connaissances ayant un crédit en retard de 30 jours ou plus",
    ),
    "DEF_30_CNT_SOCIAL_CIRCLE": (
        "external_scores",
        "count",
        "Acquaintances who defaulted (30+ days overdue)",
        "Connaissances en défaut (retard de 30 jours ou plus)",
    ),
    "OBS_60_CNT_SOCIAL_CIRCLE": (
        "external_scores",
        "count",
        "Acquaintances with a loan 60+ days overdue",
        "Connaissances ayant un crédit en retard de 60 jours ou plus",
    ),
    "DEF_60_CNT_SOCIAL_CIRCLE": (
        "external_scores",
        "count",
        "Acquaintances who defaulted (60+ days overdue)",
        "Connaissances en défaut (retard de 60 jours ou plus)",
    ),
    "DAYS_LAST_PHONE_CHANGE": (
        "identity",
        "years",
        "Time since the phone number changed",
        "Ancienneté du numéro de téléphone",
    ),
}
_BUILDING_WORDS = {
    "APARTMENTS": ("apartment size", "taille des appartements"),
    "BASEMENTAREA": ("basement area", "surface du sous-sol"),
    "YEARS_BEGINEXPLUATATION": ("years in use", "années d'exploitation"),
    "YEARS_BUILD": ("construction age", "âge de construction"),
    "COMMONAREA": ("common area", "parties communes"),
    "ELEVATORS": ("elevators", "ascenseurs"),
    "ENTRANCES": ("entrances", "entrées"),
    "FLOORSMAX": ("highest floor", "étage le plus haut"),
    "FLOORSMIN": ("lowest floor", "étage le plus bas"),
    "LANDAREA": ("land area", "surface du terrain"),
    "LIVINGAPARTMENTS": ("living apartments", "logements habités"),
    "LIVINGAREA": ("living area", "surface habitable"),
    "NONLIVINGAPARTMENTS": ("non-living apartments", "locaux non habités"),
    "NONLIVINGAREA": ("non-living area", "surface non habitable"),
}
_STAT_WORDS = {
    "AVG": ("average", "moyenne"),
    "MODE": ("most frequent", "valeur la plus fréquente"),
    "MEDI": ("median", "médiane"),
}
for _b, (_en, _fr) in _BUILDING_WORDS.items():
    for _s, (_sen, _sfr) in _STAT_WORDS.items():
        _RAW[f"{_b}_{_s}"] = (
            "housing",
            "ratio",
            f"Building: {_en} ({_sen}, scaled)",
            f"Immeuble : {_fr} ({_sfr}, normalisée)",
        )
for _i in range(2, 22):
    _RAW[f"FLAG_DOCUMENT_{_i}"] = (
        "loan",
        None,
        f"Supporting document no. {_i} provided",
        f"Justificatif n° {_i} fourni",
    )
# Kaggle's six enquiry windows do not overlap: each excludes the shorter ones (YEAR is 3 to 12 months before)
for _p, (_en, _fr) in {
    "HOUR": ("in the hour before applying", "dans l'heure précédant la demande"),
    "DAY": ("1 hour to 1 day before applying", "entre 1 heure et 1 jour avant la demande"),
    "WEEK": ("1 day to 1 week before applying", "entre 1 jour et 1 semaine avant la demande"),
    "MON": ("1 week to 1 month before applying", "entre 1 semaine et 1 mois avant la demande"),
    "QRT": ("1 to 3 months before applying", "entre 1 et 3 mois avant la demande"),
    "YEAR": ("3 to 12 months before applying", "entre 3 et 12 mois avant la demande"),
}.items():
    _RAW[f"AMT_REQ_CREDIT_BUREAU_{_p}"] = (
        "external_scores",
        "count",
        f"Credit bureau enquiries {_en}",
        f"Consultations du bureau de crédit {_fr}",
    )

# Features computed by scoring.features: name -> (unit, English, French); the group follows the name's prefix.
_FEATURES = {
    "PREV_LAST_STATUS": (None, "Outcome of the last application with us", "Issue de la dernière demande chez nous"),
    "AGE_YEARS": ("years", "Age", "Âge"),
    "EMPLOYED_YEARS": ("years", "Years in current job", "Ancienneté dans l'emploi (années)"),
    "NOT_EMPLOYED_FLAG": (None, "Not employed or retired", "Sans emploi ou retraité"),
    "EMPLOYED_TO_AGE": ("ratio", "Share of life spent in current job", "Part de la vie passée dans l'emploi actuel"),
    "REGISTRATION_YEARS": (
        "years",
        "Years since the registration was changed",
        "Années depuis le changement d'enregistrement",
    ),
    "ID_PUBLISH_YEARS": (
        "years",
        "Years since the identity document was issued",
        "Années depuis l'émission de la pièce d'identité",
    ),
    "PHONE_CHANGE_YEARS": ("years", "Years since the phone number changed", "Années depuis le changement de téléphone"),
    "CAR_AGE_TO_AGE": ("ratio", "Car age relative to the client's age", "Âge de la voiture rapporté à l'âge du client"),
    "CREDIT_TO_ANNUITY": (
        "ratio",
        "Loan length (amount / yearly repayment)",
        "Durée du crédit (montant / remboursement annuel)",
    ),
    "PAYMENT_RATE": ("percent", "Yearly repayment as a share of the loan", "Remboursement annuel en part du crédit"),
    "ANNUITY_TO_INCOME": ("percent", "Yearly repayment as a share of income", "Remboursement annuel en part du revenu"),
    "CREDIT_TO_INCOME": (
        "ratio",
        "Loan amount relative to yearly income",
        "Montant du crédit rapporté au revenu annuel",
    ),
    "CREDIT_TO_GOODS": (
        "ratio",
        "Loan amount relative to the price of the goods",
        "Montant du crédit rapporté au prix du bien",
    ),
    "CREDIT_MINUS_GOODS": (
        "currency",
        "Loan amount above the price of the goods",
        "Montant du crédit au-delà du prix du bien",
    ),
    "INCOME_PER_PERSON": ("currency", "Yearly income per household member", "Revenu annuel par personne du foyer"),
    "INCOME_AFTER_ANNUITY_PER_PERSON": (
        "currency",
        "Income left after the repayment, per household member",
        "Revenu restant après remboursement, par personne du foyer",
    ),
    "CHILDREN_SHARE": ("percent", "Share of children in the household", "Part d'enfants dans le foyer"),
    "EXT_SOURCE_MEAN": (None, "External credit scores: average", "Scores de crédit externes : moyenne"),
    "EXT_SOURCE_MIN": (None, "External credit scores: lowest", "Scores de crédit externes : le plus bas"),
    "EXT_SOURCE_MAX": (None, "External credit scores: highest", "Scores de crédit externes : le plus haut"),
    "EXT_SOURCE_STD": (None, "External credit scores: spread", "Scores de crédit externes : dispersion"),
    "EXT_SOURCE_PRODUCT": (
        None,
        "External credit scores: product of the three",
        "Scores de crédit externes : produit des trois",
    ),
    "EXT_SOURCE_WEIGHTED": (
        None,
        "External credit scores: weighted average",
        "Scores de crédit externes : moyenne pondérée",
    ),
    "EXT_SOURCE_COUNT": ("count", "External credit scores available", "Scores de crédit externes disponibles"),
    "EXT_SOURCE_2_TO_AGE": (
        "ratio",
        "External credit score 2 relative to age",
        "Score de crédit externe 2 rapporté à l'âge",
    ),
    "DOCUMENT_COUNT": ("count", "Supporting documents provided", "Justificatifs fournis"),
    "REGION_MISMATCH_COUNT": (
        "count",
        "Mismatches between home, registered and work places",
        "Écarts entre lieux de résidence, de domicile et de travail",
    ),
    "BUREAU_ENQUIRIES_TOTAL": (
        "count",
        "Credit bureau enquiries in the year before applying",
        "Consultations du bureau de crédit dans l'année précédant la demande",
    ),
    "SOCIAL_DEFAULT_SHARE_30": (
        "percent",
        "Share of overdue acquaintances who defaulted",
        "Part des connaissances en retard qui ont fait défaut",
    ),
    "BUILDING_INFO_COUNT": ("count", "Building details known", "Informations connues sur l'immeuble"),
    # bureau
    "BUREAU_COUNT": ("count", "Credits at other lenders", "Crédits chez d'autres prêteurs"),
    "BUREAU_ACTIVE_COUNT": ("count", "Active credits at other lenders", "Crédits en cours chez d'autres prêteurs"),
    "BUREAU_CLOSED_COUNT": ("count", "Closed credits at other lenders", "Crédits clos chez d'autres prêteurs"),
    "BUREAU_BAD_DEBT_COUNT": ("count", "Credits written off or sold", "Crédits passés en perte ou cédés"),
    "BUREAU_ACTIVE_SHARE": ("percent", "Share of bureau credits still active", "Part des crédits encore en cours"),
    "BUREAU_CREDIT_COUNT_365D": (
        "count",
        "Credits opened elsewhere in the last year",
        "Crédits ouverts ailleurs depuis un an",
    ),
    "BUREAU_CREDIT_COUNT_730D": (
        "count",
        "Credits opened elsewhere in the last two years",
        "Crédits ouverts ailleurs depuis deux ans",
    ),
    "BUREAU_CONSUMER_COUNT": ("count", "Consumer credits at other lenders", "Crédits à la consommation ailleurs"),
    "BUREAU_CARD_COUNT": ("count", "Credit cards at other lenders", "Cartes de crédit ailleurs"),
    "BUREAU_CAR_LOAN_COUNT": ("count", "Car loans at other lenders", "Crédits auto ailleurs"),
    "BUREAU_MORTGAGE_COUNT": ("count", "Mortgages at other lenders", "Crédits immobiliers ailleurs"),
    "BUREAU_MICROLOAN_COUNT": ("count", "Microloans at other lenders", "Microcrédits ailleurs"),
    "BUREAU_CREDIT_SUM_TOTAL": ("currency", "Total amount borrowed elsewhere", "Montant total emprunté ailleurs"),
    "BUREAU_CREDIT_SUM_MEAN": ("currency", "Average credit amount elsewhere", "Montant moyen des crédits ailleurs"),
    "BUREAU_CREDIT_SUM_MAX": ("currency", "Largest credit elsewhere", "Plus gros crédit ailleurs"),
    "BUREAU_ACTIVE_CREDIT_SUM": (
        "currency",
        "Amount of active credits elsewhere",
        "Montant des crédits en cours ailleurs",
    ),
    "BUREAU_CLOSED_CREDIT_SUM": ("currency", "Amount of closed credits elsewhere", "Montant des crédits clos ailleurs"),
    "BUREAU_CREDIT_SUM_365D": (
        "currency",
        "Amount borrowed elsewhere in the last year",
        "Montant emprunté ailleurs depuis un an",
    ),
    "BUREAU_DEBT_TOTAL": ("currency", "Debt still owed to other lenders", "Dette restant due à d'autres prêteurs"),
    "BUREAU_ACTIVE_DEBT": ("currency", "Debt on active credits elsewhere", "Dette des crédits en cours ailleurs"),
    "BUREAU_ACTIVE_DEBT_TO_CREDIT": (
        "percent",
        "Share of active credits elsewhere still owed",
        "Part des crédits en cours ailleurs restant due",
    ),
    "BUREAU_ACTIVE_LIMIT": (
        "currency",
        "Credit limits on active credits elsewhere",
        "Plafonds des crédits en cours ailleurs",
    ),
    "BUREAU_ACTIVE_ANNUITY": (
        "currency",
        "Repayments due on credits elsewhere",
        "Remboursements dus sur les crédits ailleurs",
    ),
    "BUREAU_OVERDUE_AMOUNT": (
        "currency",
        "Amount currently overdue elsewhere",
        "Montant actuellement en retard ailleurs",
    ),
    "BUREAU_MAX_OVERDUE_AMOUNT": (
        "currency",
        "Largest overdue amount ever elsewhere",
        "Plus gros montant en retard ailleurs",
    ),
    "BUREAU_OVERDUE_COUNT": ("count", "Credits currently overdue elsewhere", "Crédits actuellement en retard ailleurs"),
    "BUREAU_DAYS_OVERDUE_MAX": ("days", "Longest current delay elsewhere", "Plus long retard actuel ailleurs"),
    "BUREAU_PROLONGATIONS": ("count", "Credit extensions elsewhere", "Prolongations de crédits ailleurs"),
    "BUREAU_DAYS_SINCE_LAST_CREDIT": (
        "days",
        "Days since the last credit elsewhere",
        "Jours depuis le dernier crédit ailleurs",
    ),
    "BUREAU_DAYS_SINCE_FIRST_CREDIT": (
        "days",
        "Days since the first credit elsewhere",
        "Jours depuis le premier crédit ailleurs",
    ),
    "BUREAU_DAYS_SINCE_LAST_CLOSED": (
        "days",
        "Days since a credit elsewhere was last closed",
        "Jours depuis la dernière clôture de crédit ailleurs",
    ),
    "BUREAU_DAYS_SINCE_LAST_UPDATE": (
        "days",
        "Days since the bureau was last updated",
        "Jours depuis la dernière mise à jour du bureau",
    ),
    "BUREAU_ACTIVE_DAYS_TO_END_MAX": (
        "days",
        "Days until the last active credit elsewhere ends",
        "Jours avant la fin du dernier crédit en cours ailleurs",
    ),
    "BUREAU_CREDIT_DURATION_MEAN": (
        "days",
        "Average planned length of credits elsewhere",
        "Durée prévue moyenne des crédits ailleurs",
    ),
    "BUREAU_EARLY_CLOSURE_DAYS_MEAN": (
        "days",
        "Average days closed ahead of schedule",
        "Jours moyens de clôture anticipée",
    ),
    "BUREAU_BALANCE_MONTHS": (
        "count",
        "Months of bureau repayment history",
        "Mois d'historique de remboursement au bureau",
    ),
    "BUREAU_DPD_MONTHS": ("count", "Months with a late payment elsewhere", "Mois avec un retard de paiement ailleurs"),
    "BUREAU_DPD_1_30_MONTHS": (
        "count",
        "Months 1 to 30 days late elsewhere",
        "Mois avec 1 à 30 jours de retard ailleurs",
    ),
    "BUREAU_DPD_31_120_MONTHS": (
        "count",
        "Months 31 to 120 days late elsewhere",
        "Mois avec 31 à 120 jours de retard ailleurs",
    ),
    "BUREAU_DPD_120_PLUS_MONTHS": (
        "count",
        "Months over 120 days late or written off elsewhere",
        "Mois à plus de 120 jours de retard ou en perte ailleurs",
    ),
    "BUREAU_DPD_MONTH_SHARE": ("percent", "Share of months late elsewhere", "Part des mois en retard ailleurs"),
    "BUREAU_DPD_MAX_BUCKET": (None, "Worst delay elsewhere", "Pire retard ailleurs"),
    "BUREAU_DPD_CREDIT_COUNT": ("count", "Credits elsewhere ever paid late", "Crédits ailleurs déjà payés en retard"),
    "BUREAU_DPD_MONTHS_12M": (
        "count",
        "Months late elsewhere in the last year",
        "Mois en retard ailleurs depuis un an",
    ),
    "BUREAU_DPD_MONTHS_24M": (
        "count",
        "Months late elsewhere in the last two years",
        "Mois en retard ailleurs depuis deux ans",
    ),
    "BUREAU_DPD_MONTH_SHARE_12M": (
        "percent",
        "Share of months late elsewhere in the last year",
        "Part des mois en retard ailleurs depuis un an",
    ),
    "BUREAU_DPD_MAX_BUCKET_12M": (None, "Worst delay elsewhere in the last year", "Pire retard ailleurs depuis un an"),
    # previous applications
    "PREV_COUNT": ("count", "Previous applications with us", "Demandes précédentes chez nous"),
    "PREV_APPROVED_COUNT": ("count", "Previous applications approved", "Demandes précédentes acceptées"),
    "PREV_REFUSED_COUNT": ("count", "Previous applications refused", "Demandes précédentes refusées"),
    "PREV_CANCELED_COUNT": ("count", "Previous applications cancelled", "Demandes précédentes annulées"),
    "PREV_UNUSED_OFFER_COUNT": ("count", "Offers not taken up", "Offres non utilisées"),
    "PREV_REFUSAL_RATE": (
        "percent",
        "Share of previous applications refused",
        "Part des demandes précédentes refusées",
    ),
    "PREV_APPROVAL_RATE": (
        "percent",
        "Share of previous applications approved",
        "Part des demandes précédentes acceptées",
    ),
    "PREV_COUNT_365D": ("count", "Applications in the last year", "Demandes depuis un an"),
    "PREV_REFUSED_COUNT_365D": ("count", "Refusals in the last year", "Refus depuis un an"),
    "PREV_REFUSED_COUNT_730D": ("count", "Refusals in the last two years", "Refus depuis deux ans"),
    "PREV_REFUSAL_RATE_730D": ("percent", "Share refused in the last two years", "Part de refus depuis deux ans"),
    "PREV_CASH_COUNT": ("count", "Previous cash loan applications", "Demandes précédentes de prêt personnel"),
    "PREV_CONSUMER_COUNT": ("count", "Previous consumer loan applications", "Demandes précédentes de crédit conso"),
    "PREV_REVOLVING_COUNT": (
        "count",
        "Previous revolving credit applications",
        "Demandes précédentes de crédit renouvelable",
    ),
    "PREV_HIGH_YIELD_COUNT": ("count", "Previous loans at a high interest rate", "Crédits précédents à taux élevé"),
    "PREV_ONGOING_COUNT": ("count", "Loans with us still running", "Crédits chez nous encore en cours"),
    "PREV_ONGOING_ANNUITY": (
        "currency",
        "Repayments on loans with us still running",
        "Remboursements des crédits chez nous en cours",
    ),
    "PREV_APPROVED_CREDIT_SUM": ("currency", "Total amount of approved loans", "Montant total des crédits accordés"),
    "PREV_APPROVED_CREDIT_MEAN": ("currency", "Average approved loan", "Crédit accordé moyen"),
    "PREV_APPROVED_CREDIT_MAX": ("currency", "Largest approved loan", "Plus gros crédit accordé"),
    "PREV_APPROVED_ANNUITY_MEAN": (
        "currency",
        "Average repayment of approved loans",
        "Remboursement moyen des crédits accordés",
    ),
    "PREV_REFUSED_APPLICATION_MEAN": (
        "currency",
        "Average amount asked in refused applications",
        "Montant moyen demandé dans les demandes refusées",
    ),
    "PREV_APPLICATION_TO_CREDIT_MEAN": (
        "ratio",
        "Amount asked relative to amount granted (average)",
        "Montant demandé rapporté au montant accordé (moyenne)",
    ),
    "PREV_APPLICATION_TO_CREDIT_MIN": (
        "ratio",
        "Amount asked relative to amount granted (lowest)",
        "Montant demandé rapporté au montant accordé (minimum)",
    ),
    "PREV_CREDIT_TO_GOODS_MEAN": (
        "ratio",
        "Previous loans relative to goods price",
        "Crédits précédents rapportés au prix des biens",
    ),
    "PREV_DOWN_PAYMENT_RATE_MEAN": ("percent", "Average down payment share", "Part moyenne d'apport"),
    "PREV_TERM_MEAN": (
        "count",
        "Average number of instalments of previous loans",
        "Nombre moyen d'échéances des crédits précédents",
    ),
    "PREV_SIMPLE_INTEREST_MEAN": (
        "percent",
        "Average total interest of previous loans",
        "Intérêt total moyen des crédits précédents",
    ),
    "PREV_DAYS_SINCE_LAST_DECISION": ("days", "Days since the last application", "Jours depuis la dernière demande"),
    "PREV_DAYS_SINCE_FIRST_DECISION": ("days", "Days since the first application", "Jours depuis la première demande"),
    "PREV_DAYS_SINCE_LAST_APPROVAL": ("days", "Days since the last approval", "Jours depuis le dernier accord"),
    "PREV_DAYS_SINCE_LAST_REFUSAL": ("days", "Days since the last refusal", "Jours depuis le dernier refus"),
    # instalments
    "INST_COUNT": ("count", "Instalment payments recorded", "Paiements d'échéances enregistrés"),
    "INST_CONTRACT_COUNT": ("count", "Loans with instalment history", "Crédits avec historique d'échéances"),
    "INST_LATE_COUNT": ("count", "Instalments paid late", "Échéances payées en retard"),
    "INST_LATE_SHARE": ("percent", "Share of instalments paid late", "Part des échéances payées en retard"),
    "INST_LATE_30_COUNT": (
        "count",
        "Instalments paid over 30 days late",
        "Échéances payées avec plus de 30 jours de retard",
    ),
    "INST_LATE_DAYS_MEAN": ("days", "Average delay per instalment", "Retard moyen par échéance"),
    "INST_LATE_DAYS_MAX": ("days", "Longest instalment delay", "Plus long retard sur une échéance"),
    "INST_LATE_DAYS_SUM": ("days", "Total days of instalment delay", "Total des jours de retard"),
    "INST_EARLY_DAYS_MEAN": ("days", "Average days paid ahead", "Jours d'avance moyens"),
    "INST_UNDERPAID_COUNT": ("count", "Instalments not paid in full", "Échéances payées partiellement"),
    "INST_UNDERPAID_SHARE": (
        "percent",
        "Share of instalments not paid in full",
        "Part des échéances payées partiellement",
    ),
    "INST_SHORTFALL_SUM": (
        "currency",
        "Total amount missing on instalments",
        "Montant total manquant sur les échéances",
    ),
    "INST_PAYMENT_RATIO_MEAN": (
        "percent",
        "Share of each instalment paid (average)",
        "Part payée de chaque échéance (moyenne)",
    ),
    "INST_PAYMENT_RATIO_MIN": (
        "percent",
        "Share of an instalment paid (lowest)",
        "Part payée d'une échéance (minimum)",
    ),
    "INST_AMT_INSTALMENT_MEAN": ("currency", "Average instalment", "Échéance moyenne"),
    "INST_AMT_PAYMENT_SUM": ("currency", "Total paid on instalments", "Total payé sur les échéances"),
    "INST_UNPAID_COUNT": ("count", "Instalments with no payment recorded", "Échéances sans paiement enregistré"),
    "INST_DAYS_SINCE_LAST_PAYMENT": (
        "days",
        "Days since the last instalment payment",
        "Jours depuis le dernier paiement d'échéance",
    ),
    "INST_COUNT_365D": ("count", "Instalments due in the last year", "Échéances dues depuis un an"),
    "INST_LATE_COUNT_365D": ("count", "Instalments paid late in the last year", "Échéances en retard depuis un an"),
    "INST_LATE_SHARE_365D": ("percent", "Share paid late in the last year", "Part payée en retard depuis un an"),
    "INST_LATE_DAYS_MEAN_365D": ("days", "Average delay in the last year", "Retard moyen depuis un an"),
    "INST_LATE_DAYS_MAX_365D": (
        "days",
        "Longest delay on an instalment in the last year",
        "Plus long retard de paiement d'échéance depuis un an",
    ),
    "INST_UNDERPAID_SHARE_365D": (
        "percent",
        "Share not paid in full in the last year",
        "Part payée partiellement depuis un an",
    ),
    "INST_PAYMENT_RATIO_MEAN_365D": (
        "percent",
        "Share of each instalment paid in the last year",
        "Part payée de chaque échéance depuis un an",
    ),
    "INST_LATE_SHARE_730D": (
        "percent",
        "Share paid late in the last two years",
        "Part payée en retard depuis deux ans",
    ),
    "INST_LATE_DAYS_MEAN_730D": ("days", "Average delay in the last two years", "Retard moyen depuis deux ans"),
    "INST_LATE_SHARE_TREND": (
        "percent",
        "Change in late payments (last year vs all time)",
        "Évolution des retards (dernière année contre l'ensemble)",
    ),
    # POS and cash loans
    "POS_MONTHS": (
        "count",
        "Months of point-of-sale and cash loan history",
        "Mois d'historique de crédits point de vente et personnels",
    ),
    "POS_CONTRACT_COUNT": ("count", "Point-of-sale and cash loans", "Crédits point de vente et personnels"),
    "POS_DPD_MAX": ("days", "Longest delay on these loans", "Plus long retard sur ces crédits"),
    "POS_DPD_MEAN": ("days", "Average monthly delay on these loans", "Retard mensuel moyen sur ces crédits"),
    "POS_DPD_MONTHS": ("count", "Months with a delay on these loans", "Mois avec retard sur ces crédits"),
    "POS_DPD_DEF_MAX": ("days", "Longest delay beyond tolerance", "Plus long retard au-delà de la tolérance"),
    "POS_DPD_DEF_MONTHS": ("count", "Months late beyond tolerance", "Mois en retard au-delà de la tolérance"),
    "POS_DPD_MONTH_SHARE": ("percent", "Share of months with a delay", "Part des mois avec retard"),
    "POS_INSTALMENTS_MEAN": ("count", "Average number of instalments planned", "Nombre moyen d'échéances prévues"),
    "POS_MONTHS_SINCE_LAST": (None, "Months since the last record", "Mois depuis le dernier relevé"),
    "POS_MONTHS_12M": ("count", "Months recorded in the last year", "Mois enregistrés depuis un an"),
    "POS_DPD_MONTHS_12M": ("count", "Months with a delay in the last year", "Mois avec retard depuis un an"),
    "POS_DPD_MAX_12M": (
        "days",
        "Longest delay on point-of-sale and cash loans in the last year",
        "Plus long retard sur les crédits point de vente et prêts personnels depuis un an",
    ),
    "POS_DPD_MONTHS_24M": ("count", "Months with a delay in the last two years", "Mois avec retard depuis deux ans"),
    "POS_COMPLETED_COUNT": (
        "count",
        "Point-of-sale and cash loans completed",
        "Crédits point de vente et personnels soldés",
    ),
    "POS_INSTALMENTS_LEFT": ("count", "Instalments still to pay", "Échéances restant à payer"),
    # credit cards
    "CC_MONTHS": ("count", "Months of credit card history", "Mois d'historique de carte de crédit"),
    "CC_CARD_COUNT": ("count", "Credit cards with us", "Cartes de crédit chez nous"),
    "CC_BALANCE_MEAN": ("currency", "Average card balance", "Solde moyen de la carte"),
    "CC_BALANCE_MAX": ("currency", "Highest card balance", "Solde maximal de la carte"),
    "CC_LIMIT_MEAN": ("currency", "Average card limit", "Plafond moyen de la carte"),
    "CC_LIMIT_MAX": ("currency", "Highest card limit", "Plafond maximal de la carte"),
    "CC_UTILISATION_MEAN": ("percent", "Card limit used (average)", "Part du plafond utilisée (moyenne)"),
    "CC_UTILISATION_MAX": ("percent", "Card limit used (highest)", "Part du plafond utilisée (maximum)"),
    "CC_UTILISATION_12M": ("percent", "Card limit used in the last year", "Part du plafond utilisée depuis un an"),
    "CC_UTILISATION_3M": (
        "percent",
        "Card limit used in the last three months",
        "Part du plafond utilisée depuis trois mois",
    ),
    "CC_DRAWINGS_MEAN": ("currency", "Average monthly card spending", "Dépenses mensuelles moyennes par carte"),
    "CC_DRAWINGS_ATM_MEAN": ("currency", "Average monthly cash withdrawals", "Retraits d'espèces mensuels moyens"),
    "CC_DRAWINGS_COUNT_MEAN": ("count", "Average card uses per month", "Utilisations mensuelles moyennes de la carte"),
    "CC_DRAWINGS_MEAN_12M": (
        "currency",
        "Average monthly card spending in the last year",
        "Dépenses mensuelles moyennes depuis un an",
    ),
    "CC_PAYMENT_MEAN": ("currency", "Average monthly card repayment", "Remboursement mensuel moyen de la carte"),
    "CC_PAYMENT_TO_MINIMUM_MEAN": (
        "ratio",
        "Card repayment relative to the minimum due",
        "Remboursement de la carte rapporté au minimum dû",
    ),
    "CC_BELOW_MINIMUM_MONTHS": (
        "count",
        "Months paying less than the minimum due",
        "Mois avec un paiement inférieur au minimum dû",
    ),
    "CC_RECEIVABLE_MEAN": ("currency", "Average amount owed on the card", "Montant moyen dû sur la carte"),
    "CC_DPD_MAX": ("days", "Longest card payment delay", "Plus long retard de paiement de la carte"),
    "CC_DPD_MONTHS": ("count", "Months with a late card payment", "Mois avec un retard sur la carte"),
    "CC_DPD_DEF_MAX": ("days", "Longest card delay beyond tolerance", "Plus long retard carte au-delà de la tolérance"),
    "CC_DPD_MONTHS_12M": (
        "count",
        "Months with a late card payment in the last year",
        "Mois avec retard sur la carte depuis un an",
    ),
    "CC_BALANCE_MEAN_12M": (
        "currency",
        "Average card balance in the last year",
        "Solde moyen de la carte depuis un an",
    ),
    "CC_MONTHS_SINCE_LAST": (None, "Months since the last card statement", "Mois depuis le dernier relevé de carte"),
    # cross-table
    "BUREAU_ACTIVE_DEBT_TO_INCOME": (
        "ratio",
        "Debt elsewhere relative to yearly income",
        "Dette ailleurs rapportée au revenu annuel",
    ),
    "BUREAU_ACTIVE_DEBT_TO_CREDIT_APPLIED": (
        "ratio",
        "Debt elsewhere relative to the loan requested",
        "Dette ailleurs rapportée au crédit demandé",
    ),
    "TOTAL_ANNUITY_TO_INCOME": (
        "percent",
        "All yearly repayments as a share of income",
        "Tous les remboursements annuels en part du revenu",
    ),
    "CREDIT_TO_PREV_APPROVED_MEAN": (
        "ratio",
        "Loan requested relative to past approved loans",
        "Crédit demandé rapporté aux crédits accordés auparavant",
    ),
}
_PREFIX_GROUPS = (
    ("BUREAU_ENQUIRIES", "external_scores"),
    ("BUREAU_", "bureau"),
    ("PREV_", "previous_applications"),
    ("INST_", "instalments"),
    ("POS_", "pos_cash"),
    ("CC_", "credit_card"),
)
_DPD_BUCKETS = {
    0: ("no delay", "aucun retard"),
    1: ("1 to 30 days", "1 à 30 jours"),
    2: ("31 to 60 days", "31 à 60 jours"),
    3: ("61 to 90 days", "61 à 90 jours"),
    4: ("91 to 120 days", "91 à 120 jours"),
    5: ("over 120 days or written off", "plus de 120 jours ou en perte"),
}
_YES_NO = {"en": ("yes", "no"), "fr": ("oui", "non")}
_UNIT_WORDS = {"years": ("years", "ans"), "days": ("days", "jours"), "percent": ("%", "%")}
_Y_N_FIELDS = ("FLAG_OWN_CAR", "FLAG_OWN_REALTY", "EMERGENCYSTATE_MODE")
HISTORY_SUMMARY_FEATURES = [
    "BUREAU_ACTIVE_COUNT",
    "BUREAU_CLOSED_COUNT",
    "BUREAU_ACTIVE_DEBT",
    "BUREAU_OVERDUE_AMOUNT",
    "BUREAU_DPD_MAX_BUCKET",
    "PREV_APPROVED_COUNT",
    "PREV_REFUSED_COUNT",
    "PREV_DAYS_SINCE_LAST_REFUSAL",
    "INST_LATE_COUNT",
    "INST_LATE_SHARE_365D",
    "INST_LATE_DAYS_MAX",
    "POS_DPD_MAX",
    "CC_UTILISATION_MEAN",
    "CC_DPD_MAX",
]


@functools.lru_cache(maxsize=4096)  # looked up several times per API request: resolve each name once
def _entry(name: str) -> tuple[str, str | None, str, str]:
    if name in _FEATURES:
        unit, en, fr = _FEATURES[name]
        grp = next((g for prefix, g in _PREFIX_GROUPS if name.startswith(prefix)), "engineered")
        return grp, unit, en, fr
    if name in _RAW:
        return _RAW[name]
    raise KeyError(f"no label for {name!r}: not a raw application field nor a feature")


def _lang(lang: str) -> int:
    if lang not in LANGS:
        raise ValueError(f"unknown language {lang!r}; expected one of {', '.join(LANGS)}")
    return LANGS.index(lang)


def label(name: str, lang: str = "en") -> str:
    """Readable label of a raw field or feature in `lang` (en, fr)."""
    return _entry(name)[2 + _lang(lang)]


def group(name: str) -> str:
    return _entry(name)[0]


def unit(name: str) -> str | None:
    """ "years", "currency", "ratio", "percent", "days", "count" or None (scores, categories, flags)."""
    return _entry(name)[1]


def group_title(grp: str, lang: str = "en") -> str:
    return GROUP_TITLES[grp][_lang(lang)]


def display_value(name: str, raw):
    """Value in display units: negative day counts -> positive years, shares -> percent; None when unknown.

    DAYS_EMPLOYED = 365243 (Kaggle's marker for the retired and the unemployed) gives None: not employed.
    """
    if is_missing(raw):
        return None
    if isinstance(raw, str):
        return raw
    value = float(raw)
    if name == "DAYS_EMPLOYED" and value == NO_DATE_DAYS:
        return None
    if name in _YEAR_DAYS:
        return round(abs(value) / 365.25, 1)
    kind = unit(name)
    if kind == "percent":
        return round(value * 100, 1)
    if kind in ("years",):
        return round(value, 1)
    if kind in ("days", "count"):
        return int(round(value)) if value.is_integer() or kind == "days" else round(value, 1)
    if kind == "currency":
        return round(value, 2)
    if kind == "ratio":
        return round(value, 3)
    return round(value, 3) if not value.is_integer() else int(value)


def display_text(name: str, raw, lang: str = "en") -> str:
    """The value as a short text for a client file: "32.9 years", "yes", "no delay", "unknown"."""
    i = _lang(lang)
    if name == "DAYS_EMPLOYED" and not is_missing(raw) and float(raw) == NO_DATE_DAYS:
        return ("not employed or retired", "sans emploi ou retraité")[i]
    value = display_value(name, raw)
    if value is None:
        return ("unknown", "inconnu")[i]
    if name in _Y_N_FIELDS and value in ("Y", "N", "Yes", "No"):
        return _YES_NO[lang][0 if value in ("Y", "Yes") else 1]
    if isinstance(value, str):
        return value
    if name.startswith("BUREAU_DPD_MAX_BUCKET") and int(value) in _DPD_BUCKETS:
        return _DPD_BUCKETS[int(value)][i]
    if unit(name) is None and (name.startswith(("FLAG_", "REG_", "LIVE_")) or name == "NOT_EMPLOYED_FLAG"):
        return _YES_NO[lang][0 if value else 1]
    words = _UNIT_WORDS.get(unit(name))
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    number = f"{value:,}" if lang == "en" else f"{value:,}".replace(",", "\u202f").replace(".", ",")
    if words is None:
        return number
    return f"{number} {words[i]}" if words[i] != "%" else f"{number} %"


def describe_application(application: dict, lang: str = "en") -> list[dict]:
    """The client file: raw application fields grouped (identity, income, loan, housing, scores), in display units."""
    _lang(lang)
    fields = {g: [] for g in CLIENT_FILE_GROUPS}
    for name in SCHEMAS["application_test"]:
        if (
            name == "SK_ID_CURR"
            or name not in application
            or name.endswith(("_MODE", "_MEDI"))
            and SCHEMAS["application_test"][name] == "float"
            and name != "TOTALAREA_MODE"
        ):
            continue
        if name.startswith("FLAG_DOCUMENT_"):
            continue  # summarised below as the number of documents provided
        raw = application[name]
        fields[group(name)].append(
            {
                "name": name,
                "label": label(name, lang),
                "value": _plain(raw),
                "display": display_text(name, raw, lang),
                "unit": unit(name),
            }
        )
    docs = [application[k] for k in application if k.startswith("FLAG_DOCUMENT_") and not is_missing(application[k])]
    if docs:
        count = int(sum(float(d) for d in docs))
        fields["loan"].append(
            {
                "name": "DOCUMENT_COUNT",
                "label": label("DOCUMENT_COUNT", lang),
                "value": count,
                "display": display_text("DOCUMENT_COUNT", count, lang),
                "unit": "count",
            }
        )
    return [{"group": g, "title": group_title(g, lang), "fields": fields[g]} for g in CLIENT_FILE_GROUPS]


def history_summary(features: dict, lang: str = "en") -> list[dict]:
    """The credit history in a dozen readable lines, from a client's feature values."""
    _lang(lang)
    return [
        {
            "name": name,
            "label": label(name, lang),
            "value": _plain(features.get(name)),
            "display": display_text(name, features.get(name), lang),
        }
        for name in HISTORY_SUMMARY_FEATURES
    ]


def _plain(raw):
    """JSON-friendly raw value: NaN -> None, numpy scalars -> Python."""
    if is_missing(raw):
        return None
    return raw.item() if hasattr(raw, "item") else raw
