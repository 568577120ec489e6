"""Moderators and admins: accounts, the review queue, decisions, the audit log, site policy
and webhooks. HTTP lives in routes.py; everything else is plain functions over a session."""
