"""Moderation's own tables. Empty until the moderation features land; wired into the ORM already."""
