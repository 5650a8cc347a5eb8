"""The console's own refusals, in the product's one error tree."""

from __future__ import annotations

from zerotrust.core.errors import AuthenticationFailed, Forbidden


class NotSignedIn(AuthenticationFailed):
    """No live console session: the page sends the browser to sign in."""

    code = "not_signed_in"
    message = "Sign in to the console."

    def __init__(self, reason: str) -> None:
        super().__init__()
        self.reason = reason


class ActionRejected(Forbidden):
    """A state-changing request without its CSRF token, from another site, or without a
    valid proof by the session's browser key (cross-site request forgery, session riding)."""

    code = "action_rejected"
    message = "The request was refused; reload the page and try again."

    def __init__(self, reason: str) -> None:
        super().__init__()
        self.reason = reason
