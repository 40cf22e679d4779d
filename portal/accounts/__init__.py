"""Accounts: who can sign in (users) and how their passwords are hashed (passwords)."""
