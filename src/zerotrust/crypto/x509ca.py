"""A small internal certificate authority (X.509, RFC 5280) for TLS inside the platform.

``zt ca`` uses it to give the gateway's listener a server certificate and the gateway a
client certificate for mutual TLS to upstreams, so protected services accept connections
from the gateway only. Keys are ECDSA P-256. The CA certificate may sign end-entity
certificates only (``pathLenConstraint`` 0); leaf certificates carry their names in the
subject alternative name (RFC 6125: clients ignore the common name) and an extended key
usage of server and/or client authentication, so a client certificate cannot serve TLS.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from zerotrust.core.errors import InvalidInput

__all__ = ["IssuedPair", "Usage", "create_ca", "describe", "issue"]

Usage = Literal["server", "client", "both"]
# Backdating absorbs clock skew between the CA host and the peers checking the certificate.
BACKDATE = dt.timedelta(minutes=5)
MAX_DAYS = 3650


@dataclass(frozen=True)
class IssuedPair:
    """A certificate and its private key, both PEM (the key PKCS#8, unencrypted: write it
    to a file only its owner can read)."""

    cert_pem: bytes
    key_pem: bytes


def _name(common_name: str) -> x509.Name:
    if not 0 < len(common_name) <= 64:
        raise InvalidInput("A common name has 1-64 characters.", code="invalid_name")
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _validity(now: float, days: int) -> tuple[dt.datetime, dt.datetime]:
    if not 0 < days <= MAX_DAYS:
        raise InvalidInput(f"Validity is 1-{MAX_DAYS} days.", code="invalid_validity")
    start = dt.datetime.fromtimestamp(now, tz=dt.UTC)
    return start - BACKDATE, start + dt.timedelta(days=days)


def _pem_key(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def create_ca(common_name: str, *, now: float, days: int = MAX_DAYS) -> IssuedPair:
    """A self-signed CA that may issue end-entity certificates only."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = _name(common_name)
    start, end = _validity(now, days)
    ski = x509.SubjectKeyIdentifier.from_public_key(key.public_key())
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(end)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_key_usage(ca=True), critical=True)
        .add_extension(ski, critical=False)
        .sign(key, hashes.SHA256())
    )
    return IssuedPair(cert.public_bytes(serialization.Encoding.PEM), _pem_key(key))


def issue(
    ca: IssuedPair,
    common_name: str,
    *,
    dns: Sequence[str] = (),
    ips: Sequence[str] = (),
    usage: Usage = "server",
    now: float,
    days: int = 397,
) -> IssuedPair:
    """An end-entity certificate for ``dns`` names and ``ips``, signed by ``ca``."""
    ca_cert, ca_key = _load_ca(ca)
    names = _alt_names(dns, ips)
    key = ec.generate_private_key(ec.SECP256R1())
    start, end = _validity(now, days)
    end = min(end, ca_cert.not_valid_after_utc)  # never outlive the issuer
    purposes = {
        "server": [ExtendedKeyUsageOID.SERVER_AUTH],
        "client": [ExtendedKeyUsageOID.CLIENT_AUTH],
        "both": [ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH],
    }[usage]
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(common_name))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(int.from_bytes(secrets.token_bytes(16), "big") >> 1)
        .not_valid_before(start)
        .not_valid_after(end)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_key_usage(ca=False), critical=True)
        .add_extension(x509.ExtendedKeyUsage(purposes), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
            critical=False,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False)
    )
    if names:
        builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
    cert = builder.sign(ca_key, hashes.SHA256())
    return IssuedPair(cert.public_bytes(serialization.Encoding.PEM), _pem_key(key))


def describe(cert_pem: bytes) -> dict[str, Any]:
    """Subject, issuer, names, validity and SHA-256 fingerprint of a PEM certificate."""
    cert = _load_cert(cert_pem)
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        names = [str(n.value) for n in san]
    except x509.ExtensionNotFound:
        names = []
    return {
        "subject": cert.subject.rfc4514_string(),
        "issuer": cert.issuer.rfc4514_string(),
        "names": names,
        "not_before": cert.not_valid_before_utc.isoformat(),
        "not_after": cert.not_valid_after_utc.isoformat(),
        "sha256": cert.fingerprint(hashes.SHA256()).hex(),
    }


def _key_usage(*, ca: bool) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=not ca,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=ca,
        crl_sign=ca,
        encipher_only=False,
        decipher_only=False,
    )


def _alt_names(dns: Sequence[str], ips: Sequence[str]) -> list[x509.GeneralName]:
    names: list[x509.GeneralName] = []
    for host in dns:
        if not host or len(host) > 253 or not all(c.isalnum() or c in ".-*" for c in host):
            raise InvalidInput(f"Not a DNS name: {host!r}.", code="invalid_name")
        names.append(x509.DNSName(host.lower()))
    for text in ips:
        try:
            names.append(x509.IPAddress(ipaddress.ip_address(text)))
        except ValueError:
            raise InvalidInput(f"Not an IP address: {text!r}.", code="invalid_name") from None
    return names


def _load_cert(pem: bytes) -> x509.Certificate:
    try:
        return x509.load_pem_x509_certificate(pem)
    except ValueError:
        raise InvalidInput("Not a PEM certificate.", code="invalid_certificate") from None


def _load_ca(ca: IssuedPair) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    cert = _load_cert(ca.cert_pem)
    try:
        key = serialization.load_pem_private_key(ca.key_pem, password=None)
    except (ValueError, TypeError):
        raise InvalidInput("Not a PEM private key.", code="invalid_key") from None
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise InvalidInput("The CA key is not an EC key.", code="invalid_key")
    if key.public_key() != cert.public_key():
        raise InvalidInput("The CA key does not match its certificate.", code="invalid_key")
    constraints = cert.extensions.get_extension_for_class(x509.BasicConstraints).value
    if not constraints.ca:
        raise InvalidInput("The certificate is not a CA.", code="invalid_certificate")
    return cert, key
