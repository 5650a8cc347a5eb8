"""The gateway: the Zero Trust policy enforcement point in front of protected services.

Every request is parsed once (``framing``, ``canonical``, ``client_ip``), verified in full
(``chain``: DPoP proof and token, live session, device, context, the PDP), rate-limited
(``ratelimit``), forwarded over mutual TLS with a signed identity assertion (``forward``,
``assertion``), filtered by the decision's obligations (``obligations``), and audited.
``app.create_gateway`` builds the ASGI application; ``server.serve`` runs it under uvicorn
with the connection-level limits (header size, slow clients). See docs/gateway.md.
"""
