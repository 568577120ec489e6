"""Integrations that answer inside the request: Perspective API clients and Coral Talk."""
