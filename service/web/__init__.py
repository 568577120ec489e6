"""Web pages: the demo article page with its embeddable comment script, and the moderator UI."""
