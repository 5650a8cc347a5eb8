"""The internal CA: certificates a TLS stack accepts, for the right purpose only."""

from __future__ import annotations

import ssl
import time
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID

from zerotrust.core.errors import InvalidInput
from zerotrust.crypto.x509ca import IssuedPair, create_ca, describe, issue

NOW = time.time()


@pytest.fixture(scope="module")
def ca() -> IssuedPair:
    return create_ca("test CA", now=NOW, days=30)


def test_the_ca_signs_only_end_entities(ca: IssuedPair) -> None:
    cert = x509.load_pem_x509_certificate(ca.cert_pem)
    constraints = cert.extensions.get_extension_for_class(x509.BasicConstraints).value
    assert constraints.ca
    assert constraints.path_length == 0
    leaf = x509.load_pem_x509_certificate(issue(ca, "gw", dns=["gw"], now=NOW).cert_pem)
    assert not leaf.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    leaf.verify_directly_issued_by(cert)


def test_purposes_and_names(ca: IssuedPair) -> None:
    server = issue(ca, "gw", dns=["GW.example.com"], ips=["127.0.0.1"], now=NOW)
    client = issue(ca, "gateway", usage="client", now=NOW)
    usage = x509.load_pem_x509_certificate(client.cert_pem).extensions.get_extension_for_class(
        x509.ExtendedKeyUsage
    )
    assert list(usage.value) == [ExtendedKeyUsageOID.CLIENT_AUTH]
    info = describe(server.cert_pem)
    assert info["names"] == ["gw.example.com", "127.0.0.1"]
    assert info["issuer"] == "CN=test CA"


def test_a_tls_stack_accepts_the_chain(ca: IssuedPair, tmp_path: Path) -> None:
    server = issue(ca, "gw", ips=["127.0.0.1"], now=NOW)
    (tmp_path / "ca.pem").write_bytes(ca.cert_pem)
    (tmp_path / "gw.pem").write_bytes(server.cert_pem)
    (tmp_path / "gw.key").write_bytes(server.key_pem)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(tmp_path / "gw.pem", tmp_path / "gw.key")
    client = ssl.create_default_context(cafile=str(tmp_path / "ca.pem"))
    assert client.check_hostname


def test_a_leaf_never_outlives_its_ca(ca: IssuedPair) -> None:
    leaf = x509.load_pem_x509_certificate(issue(ca, "gw", now=NOW, days=397).cert_pem)
    root = x509.load_pem_x509_certificate(ca.cert_pem)
    assert leaf.not_valid_after_utc <= root.not_valid_after_utc


@pytest.mark.parametrize(
    ("kwargs", "code"),
    [
        ({"dns": ["bad host!"]}, "invalid_name"),
        ({"ips": ["999.1.1.1"]}, "invalid_name"),
        ({"days": 0}, "invalid_validity"),
    ],
)
def test_bad_requests_are_refused(ca: IssuedPair, kwargs: dict[str, object], code: str) -> None:
    with pytest.raises(InvalidInput) as err:
        issue(ca, "gw", now=NOW, **kwargs)  # type: ignore[arg-type]
    assert err.value.code == code


def test_a_leaf_is_not_a_ca(ca: IssuedPair) -> None:
    leaf = issue(ca, "gw", now=NOW)
    with pytest.raises(InvalidInput) as err:
        issue(leaf, "other", now=NOW)
    assert err.value.code == "invalid_certificate"
    with pytest.raises(InvalidInput):
        issue(IssuedPair(ca.cert_pem, leaf.key_pem), "other", now=NOW)
    with pytest.raises(InvalidInput):
        describe(b"not a certificate")
