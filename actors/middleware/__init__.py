"""Tickwork's middleware, one concern per module."""
