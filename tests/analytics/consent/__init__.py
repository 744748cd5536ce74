"""Consent: the rules, the state file, the gate, the catalogue (analytics/consent)."""
