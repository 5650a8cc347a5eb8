"""Devices: enrolment of a device key, signed posture reports, and the trust level derived
from them. A device is known by the RFC 7638 thumbprint (``jkt``) of its public key, the
same key its DPoP proofs are signed with, so a token bound to it is useless elsewhere.
"""
