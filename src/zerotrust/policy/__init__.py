"""Policy decision point: Cedar policies that fail closed, explained, with JIT grants.

Entry points: ``pdp.PolicyDecisionPoint.decide``; ``model.request_from_json`` and
``model.decision_to_json`` (shared by the HTTP endpoint and the CLI); ``store.PolicyStore``
(load, version, hot reload); ``grants.GrantService`` and ``grants.GrantIndex``;
``explain.explain`` and ``explain.audit_record``; ``whatif.replay``; ``cases.run_cases``.
See docs/policy.md.
"""
