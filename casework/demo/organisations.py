"""The demo organisations and accounts (`casework demo`)."""

from __future__ import annotations

from casework.admin.models import OrganisationKind
from casework.policy import Role

# code, name, name in Arabic, kind, prefecture
DEMO_ORGANISATIONS = [
    ("ADM", "Administration centrale (démo)", "الإدارة المركزية (تجريبي)", OrganisationKind.PUBLIC_SERVICE, None),
    ("RAB", "Bureau des étrangers — Préfecture de Rabat", "مكتب الأجانب — عمالة الرباط", OrganisationKind.FOREIGNERS_OFFICE, "RAB"),
    ("CAS", "Bureau des étrangers — Préfecture de Casablanca", "مكتب الأجانب — عمالة الدار البيضاء", OrganisationKind.FOREIGNERS_OFFICE, "CAS"),
    ("TNG", "Bureau des étrangers — Préfecture de Tanger-Assilah", "مكتب الأجانب — عمالة طنجة أصيلة", OrganisationKind.FOREIGNERS_OFFICE, "TNG"),
    ("OUJ", "Bureau des étrangers — Préfecture d'Oujda-Angad", "مكتب الأجانب — عمالة وجدة أنكاد", OrganisationKind.FOREIGNERS_OFFICE, "OUJ"),
    ("FES", "Bureau des étrangers — Préfecture de Fès", "مكتب الأجانب — عمالة فاس", OrganisationKind.FOREIGNERS_OFFICE, "FES"),
    ("CNSR", "Commission nationale de suivi et de recours", "اللجنة الوطنية للتتبع والطعون", OrganisationKind.APPEALS_COMMISSION, "RAB"),
    ("ASY", "Bureau de l'asile (démo)", "مكتب اللجوء (تجريبي)", OrganisationKind.ASYLUM_OFFICE, "RAB"),
    ("NGO1", "Association Al Amal pour les migrants (démo)", "جمعية الأمل للمهاجرين (تجريبي)", OrganisationKind.NGO, "RAB"),
    ("NGO2", "Fondation Passerelles (démo)", "مؤسسة الجسور (تجريبي)", OrganisationKind.NGO, "TNG"),
]  # fmt: skip

# email, name, role, organisation code, supervised region (None: national)
DEMO_ACCOUNTS = [
    ("admin@demo.test", "Amina Admin", Role.ADMIN, "ADM", None),
    ("supervisor@demo.test", "Samir Superviseur", Role.SUPERVISOR, "ADM", None),
    ("caseworker@demo.test", "Karima Agent", Role.CASEWORKER, "RAB", None),
    ("caseworker2@demo.test", "Youssef Agent", Role.CASEWORKER, "TNG", None),
    ("ngo@demo.test", "Nadia ONG", Role.NGO, "NGO1", None),
    ("auditor@demo.test", "Omar Auditeur", Role.AUDITOR, "ADM", None),
    # More staff so that every demo office can move its files, and appeals get a second pair
    # of eyes (the appeals commission) and Rabat-Salé-Kénitra its regional supervisor.
    ("supervisor.rabat@demo.test", "Rachida Superviseure", Role.SUPERVISOR, "RAB", "04"),
    ("commission@demo.test", "Hassan Commission", Role.SUPERVISOR, "CNSR", None),
    ("caseworker.casablanca@demo.test", "Leila Agent", Role.CASEWORKER, "CAS", None),
    ("caseworker.oujda@demo.test", "Driss Agent", Role.CASEWORKER, "OUJ", None),
    ("caseworker.fes@demo.test", "Salma Agent", Role.CASEWORKER, "FES", None),
    ("caseworker.asylum@demo.test", "Mehdi Agent", Role.CASEWORKER, "ASY", None),
    ("ngo2@demo.test", "Pierre Passerelles", Role.NGO, "NGO2", None),
]

# How the synthetic applicants are spread over the offices.
OFFICE_WEIGHTS = {"RAB": 30, "CAS": 23, "TNG": 17, "OUJ": 15, "FES": 15}
