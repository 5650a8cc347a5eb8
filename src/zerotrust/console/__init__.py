"""The security console: server-rendered pages for security and compliance teams.

An edge like the API and the gateway: it signs people in with a passkey, binds the
browser's session to a key that never leaves the browser, and asks the same policy
decision point as the API before every page and action. Nothing in the domain packages
imports it.
"""

from __future__ import annotations

from zerotrust.console.app import create_console, mount_console

__all__ = ["create_console", "mount_console"]
