"""Reproducible training of the classifier heads (build data, train, export)."""
