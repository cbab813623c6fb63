"""A local certificate authority and one server certificate for every HTTPS/TDS listener.

The Azure SDKs refuse bearer tokens over plain http, so the data planes speak TLS. The CA and the
server certificate (SAN ``localhost`` and ``127.0.0.1``) are generated once and kept in the data
directory, so a learner trusts one stable CA file. EC P-256 keys keep generation in milliseconds.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import ssl
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from .files import HARD_RESET_HINT, DataDirError, write_private, write_public

CA_FILE = "ca.pem"
CERT_FILE = "server.pem"
KEY_FILE = "server-key.pem"


@dataclass(frozen=True)
class CertificateFiles:
    """Paths of the PEM files a listener and its clients need."""

    ca: Path
    cert: Path
    key: Path

    @cached_property
    def https_context(self) -> ssl.SSLContext:
        """The one context every HTTPS listener serves with: loading the chain is most of a context's cost,
        and the listeners only read it. A listener that changes its context (ALPN, versions) makes its own."""
        return self.server_context()

    def server_context(self, *, max_version: ssl.TLSVersion | None = None) -> ssl.SSLContext:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        if max_version is not None:
            context.maximum_version = max_version
        # The chain (server + CA) so clients that trust only the CA can build the path.
        context.load_cert_chain(self.cert, self.key)
        return context


def _name(common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Managed Identity Workbook emulator"),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def _pem_key(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def _generate(directory: Path) -> None:
    now = dt.datetime.now(dt.timezone.utc) - dt.timedelta(minutes=5)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = _name("Managed Identity Workbook local CA")
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + dt.timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True, key_cert_sign=True, crl_sign=True,
                content_commitment=False, key_encipherment=False, data_encipherment=False,
                key_agreement=False, encipher_only=False, decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    server_key = ec.generate_private_key(ec.SECP256R1())
    server_cert = (
        x509.CertificateBuilder()
        .subject_name(_name("localhost"))
        .issuer_name(ca_name)
        .public_key(server_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + dt.timedelta(days=825))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    ca_pem = ca_cert.public_bytes(serialization.Encoding.PEM)
    server_pem = server_cert.public_bytes(serialization.Encoding.PEM)
    write_private(directory / KEY_FILE, _pem_key(server_key))
    write_public(directory / CERT_FILE, server_pem + ca_pem)
    write_public(directory / CA_FILE, ca_pem)


def _check(files: CertificateFiles) -> None:
    """Refuse a CA, certificate or key that is not what we generated, before publishing it to clients."""
    try:
        ca = x509.load_pem_x509_certificate(files.ca.read_bytes())
        server = x509.load_pem_x509_certificate(files.cert.read_bytes())
        key = serialization.load_pem_private_key(files.key.read_bytes(), password=None)
        server.verify_directly_issued_by(ca)
        if key.public_key().public_numbers() != server.public_key().public_numbers():
            raise ValueError("the server key does not belong to the server certificate")
    except (ValueError, TypeError, OSError, InvalidSignature) as exc:
        raise DataDirError(f"The emulator's certificates in {files.ca.parent} are damaged ({exc}); "
                           f"{HARD_RESET_HINT}.") from None


def ensure_certificates(directory: Path) -> CertificateFiles:
    """Return the CA and server certificate in ``directory``, creating them the first time."""
    files = CertificateFiles(directory / CA_FILE, directory / CERT_FILE, directory / KEY_FILE)
    if not (files.ca.exists() and files.cert.exists() and files.key.exists()):
        _generate(directory)
    else:
        _check(files)
    return files
