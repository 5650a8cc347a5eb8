"""The tamper-evident audit log: an RFC 6962 Merkle tree of every security-relevant action.

``log.AuditLog`` appends (group commit, fail closed), serves inclusion and consistency
proofs and issues signed checkpoints (``checkpoint``); ``verify.verify_log`` recomputes
the log against them; ``export`` turns it into JSON lines, OCSF and CEF. Storage is the
``interfaces.AuditStore`` protocol, implemented in ``zerotrust.store.audit_log``.
See docs/audit.md.
"""
