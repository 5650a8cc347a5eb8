"""Cryptography for zerotrust: the one package that imports ``cryptography``.

Two layers, after pyca/cryptography: safe recipes that other packages call (``aead.seal`` and
``open_sealed``, ``signing``, ``jwt``, ``kdf.derive_key``) composed from audited primitives.
Nothing here invents cryptography. Every verifier raises (``IntegrityError`` or ``TokenInvalid``)
instead of returning a bool, secret-derived values are compared in constant time, and no error
message or repr ever carries key material.
"""
