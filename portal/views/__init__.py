"""Blueprints by audience: auth (everyone), account (signed in), admin, health; their forms."""
