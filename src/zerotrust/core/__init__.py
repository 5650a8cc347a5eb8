"""Foundations every package shares: errors, clock, ids, secrets, security events."""
