"""The control-plane HTTP API (FastAPI): authentication, self-service, administration.

The only place (with the gateway) that chooses HTTP status codes: domain errors are
mapped once, in ``problems.py``, to RFC 9457 problem+json.
"""
