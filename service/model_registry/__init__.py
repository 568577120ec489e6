"""Model versions in the store: registering, listing, promoting and rolling back, and the
live model the workers load from it."""
