"""Coral Talk's external moderation phase: score in the request, store like any comment."""
