"""Consent: the pure rules, the stored choice, the gate that applies them, and the catalogue
of what a yes covers."""
