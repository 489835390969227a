"""Saved states of fpnorm objects (see :mod:`fpnorm.io`)."""
