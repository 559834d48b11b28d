"""Integration services: the catalogue, providers, consent, referrals and assistance."""
