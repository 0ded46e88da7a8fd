"""Corpora and the feature store that training reads."""
