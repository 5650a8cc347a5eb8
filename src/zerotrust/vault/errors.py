"""The vault's errors; each has a stable code the edges map to a status."""

from __future__ import annotations

from zerotrust.core.errors import Conflict, Forbidden, InvalidInput, NotFound


class Erased(NotFound):
    """The data subject was crypto-shredded; the data exists only as unreadable ciphertext."""

    code = "erased"
    message = "The data subject was erased."


class KeyInUse(Conflict):
    """A key version still protects data (or is primary) and cannot be deleted."""

    code = "key_in_use"
    message = "The key version is still in use."


class InvalidPan(InvalidInput):
    """A card number failed validation (length 13-19, digits only, Luhn); never echoed."""

    code = "invalid_pan"
    message = "The card number is not valid."


class InvalidField(InvalidInput):
    """A record field is missing, unknown or out of bounds; the value is never echoed."""

    code = "invalid_field"
    message = "A field is not valid."


class ObligationUnfulfilled(Forbidden):
    """A policy obligation could not be carried out, so the response is withheld."""

    code = "obligation_unfulfilled"
    message = "The response cannot be released under the policy's obligations."


class ScopeClosed(Forbidden):
    """A workload scope was used after its one call."""

    code = "scope_closed"
    message = "The workload scope is closed."
