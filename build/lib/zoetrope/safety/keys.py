"""The C2PA signing identity: a private key and its certificate chain, made on first use.

Development gets a local CA under `ZOETROPE_DATA_DIR/c2pa/`: a root certificate and an
end-entity certificate (EC P-256, EKU emailProtection, which C2PA validators accept) that it
signs. Production points at its own files by putting `signer.pem` (end-entity then
intermediates) and `signer.key` in that folder, or by passing `SigningIdentity` explicitly.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from zoetrope.settings import get_settings

_LIFETIME = dt.timedelta(days=365 * 30)  # files outlive keys; a short-lived cert only invalidates them
ISSUER = "Zoetrope"


@dataclass(frozen=True)
class SigningIdentity:
    chain_pem: bytes  # end-entity certificate first, then any intermediates
    key_pem: bytes
    root_pem: bytes | None  # the trust anchor readers may be given; None when unknown


def _name(common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, ISSUER),
        ]
    )


def _certificate(
    subject: str,
    key: ec.EllipticCurvePrivateKey,
    issuer: str,
    issuer_key: ec.EllipticCurvePrivateKey,
    ca: bool,
) -> x509.Certificate:
    now = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5)
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(subject))
        .issuer_name(_name(issuer))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + _LIFETIME)
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
    )
    if ca:
        usage = x509.KeyUsage(False, False, False, False, False, True, True, False, False)
    else:
        usage = x509.KeyUsage(True, False, False, False, False, False, False, False, False)
        builder = builder.add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION]), critical=False
        ).add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()), critical=False
        )
    return builder.add_extension(usage, critical=True).sign(issuer_key, hashes.SHA256())


def _pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def create_local_ca(folder: Path) -> SigningIdentity:
    """Make a root CA and an end-entity signing certificate under `folder` and return them."""
    root_key = ec.generate_private_key(ec.SECP256R1())
    root = _certificate(f"{ISSUER} Local Root CA", root_key, f"{ISSUER} Local Root CA", root_key, ca=True)
    key = ec.generate_private_key(ec.SECP256R1())
    leaf = _certificate(f"{ISSUER} Content Credentials", key, f"{ISSUER} Local Root CA", root_key, ca=False)
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    folder.mkdir(parents=True, exist_ok=True)
    # The root's key is not kept: nothing signs with it again, so nothing can leak it.
    for name, data, mode in [
        ("signer.key", key_pem, 0o600),
        ("signer.pem", _pem(leaf), 0o644),
        ("root.pem", _pem(root), 0o644),
    ]:
        tmp = folder / f".{name}.tmp"
        tmp.write_bytes(data)
        os.chmod(tmp, mode)
        os.replace(tmp, folder / name)
    return SigningIdentity(chain_pem=_pem(leaf), key_pem=key_pem, root_pem=_pem(root))


_lock = threading.Lock()


def signing_identity(folder: Path | None = None) -> SigningIdentity:
    """The identity in `folder` (default `data_dir/c2pa`), creating a local CA there on first use.

    Worker processes sharing a data directory may all sign their first video at once: the check
    and the creation, and every read, hold an exclusive lock on `folder/.lock` across processes,
    so no process creates a second CA over the first or reads one CA's key beside another's
    certificate (which signs files whose signatures do not match)."""
    folder = folder or get_settings().data_dir / "c2pa"
    with _lock, _folder_lock(folder):
        if not (folder / "signer.pem").exists() or not (folder / "signer.key").exists():
            return create_local_ca(folder)
        root = folder / "root.pem"
        return SigningIdentity(
            chain_pem=(folder / "signer.pem").read_bytes(),
            key_pem=(folder / "signer.key").read_bytes(),
            root_pem=root.read_bytes() if root.exists() else None,
        )


@contextmanager
def _folder_lock(folder: Path) -> Iterator[None]:
    """An exclusive lock on `folder` shared by every process on this machine (flock)."""
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / ".lock").open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
