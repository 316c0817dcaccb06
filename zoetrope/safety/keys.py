"""The C2PA signing identity: a private key and its certificate chain, made on first use.

Development gets a local CA under `ZOETROPE_DATA_DIR/c2pa/`: a root certificate and an
end-entity certificate (EC P-256, EKU emailProtection, which C2PA validators accept) that it
signs. Production puts its own three files in that folder: `signer.pem` (end-entity then
intermediates), `signer.key`, and `root.pem`, the CA certificate that chain leads to, which every
reader checks signatures against (`trusted`). A folder holding some of them but not all, or a
chain that does not lead to `root.pem`, is refused with the fix (`ConfigError`): files signed so
would read as another installation's, and a reader without the root could trust nobody.
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
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from zoetrope.errors import ConfigError
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

    Raises ConfigError, naming the file and the fix, when the folder holds some of signer.pem,
    signer.key and root.pem but not all three, when the key is not the certificate's, or when the
    chain does not lead to root.pem. Worker processes sharing a data directory may all sign their
    first video at once: the check and the creation, and every read, hold an exclusive lock on
    `folder/.lock` across processes, so no process creates a second CA over the first or reads one
    CA's key beside another's certificate (which signs files whose signatures do not match)."""
    folder = folder or get_settings().data_dir / "c2pa"
    with _lock, _folder_lock(folder):
        present = [name for name in _FILES if (folder / name).exists()]
        if not present:
            return create_local_ca(folder)
        if missing := [name for name in _FILES if name not in present]:
            raise ConfigError(
                f"{folder / missing[0]} is missing beside {', '.join(present)}: a signing identity is "
                f"{', '.join(_FILES)} (the certificate chain, its key, and the root CA certificate the "
                "chain leads to). Supply it, or move the folder's files away to make a new local CA",
                param="ZOETROPE_DATA_DIR",
            )
        identity = SigningIdentity(*((folder / name).read_bytes() for name in _FILES))
        _check_chain(folder, identity.chain_pem, identity.root_pem or b"", identity.key_pem)
        return identity


_FILES = ("signer.pem", "signer.key", "root.pem")


def trust_anchor(folder: Path | None = None) -> bytes | None:
    """The root certificate(s) files are checked against (`folder/root.pem`, default under
    `data_dir/c2pa`), or None where this installation has no signing identity yet.

    A machine that only reads may hold root.pem alone. Raises ConfigError where signer.pem is
    there without root.pem, or its chain does not lead to it: every file this installation signed
    would read as someone else's."""
    folder = folder or get_settings().data_dir / "c2pa"
    root, chain = folder / "root.pem", folder / "signer.pem"
    if not root.exists():
        if chain.exists():
            raise ConfigError(
                f"{root} is missing: put there the root CA certificate that {chain.name}'s chain leads "
                "to, or no file can be checked as this installation's",
                param="ZOETROPE_DATA_DIR",
            )
        return None
    root_pem = root.read_bytes()
    if chain.exists():
        _check_chain(folder, chain.read_bytes(), root_pem)
    return root_pem


def _check_chain(folder: Path, chain_pem: bytes, root_pem: bytes, key_pem: bytes | None = None) -> None:
    """Raise ConfigError unless `chain_pem` (end-entity first) leads, certificate by certificate,
    to one of the certificates in `root_pem`, and `key_pem`, where given, is the end entity's key."""
    try:
        chain = x509.load_pem_x509_certificates(chain_pem)
    except ValueError:
        raise ConfigError(
            f"{folder / 'signer.pem'} holds no PEM certificate", param="ZOETROPE_DATA_DIR"
        ) from None
    try:
        roots = x509.load_pem_x509_certificates(root_pem)
    except ValueError:
        raise ConfigError(
            f"{folder / 'root.pem'} holds no PEM certificate", param="ZOETROPE_DATA_DIR"
        ) from None
    if key_pem is not None:
        try:
            key = serialization.load_pem_private_key(key_pem, None)
        except (ValueError, TypeError):
            raise ConfigError(
                f"{folder / 'signer.key'} is not an unencrypted PEM private key", param="ZOETROPE_DATA_DIR"
            ) from None
        if key.public_key() != chain[0].public_key():
            raise ConfigError(
                f"{folder / 'signer.key'} is not the key of the first certificate in signer.pem",
                param="ZOETROPE_DATA_DIR",
            )
    for cert, issuer in zip(chain, chain[1:], strict=False):
        if not _issued_by(cert, issuer):
            raise ConfigError(
                f"{folder / 'signer.pem'}: {_cn(cert)} is not issued by the next certificate, {_cn(issuer)}: "
                "list the end-entity certificate first, then each issuer in turn",
                param="ZOETROPE_DATA_DIR",
            )
    last = chain[-1]
    if not any(last == root or _issued_by(last, root) for root in roots):
        raise ConfigError(
            f"{folder / 'signer.pem'} does not lead to {folder / 'root.pem'} ({', '.join(map(_cn, roots))}): "
            f"put there the root CA certificate that issued {_cn(last)}, or files this installation signs "
            "read as another's",
            param="ZOETROPE_DATA_DIR",
        )


def _issued_by(cert: x509.Certificate, issuer: x509.Certificate) -> bool:
    try:
        cert.verify_directly_issued_by(issuer)
    except (ValueError, TypeError, InvalidSignature):
        return False
    return True


def _cn(cert: x509.Certificate) -> str:
    names = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    return repr(names[0].value) if names else cert.subject.rfc4514_string()


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
