"""The sandbox's self-signed TLS certificate.

simple-salesforce builds every URL with ``https://``, so the sandbox must speak TLS. We make one self-signed
certificate at first start and keep it beside the data file (``<data>.cert.pem``, ``<data>.key.pem``) so that
clients trust it once. The certificate is its own CA (basicConstraints CA=true, keyCertSign), which is what
OpenSSL requires of a file given as a trust anchor (``requests.Session().verify = path``,
``REQUESTS_CA_BUNDLE=path``); it names 127.0.0.1, ::1 and localhost (plus the served host) in
SubjectAltName, since modern clients ignore the common name.
"""

from __future__ import annotations

import atexit
import datetime
import ipaddress
import shutil
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

DEFAULT_HOSTS = ("127.0.0.1", "::1", "localhost")
_VALIDITY = datetime.timedelta(days=3650)
_memory_dir: Path | None = None
_memory_lock = threading.Lock()


@dataclass(frozen=True)
class CertificatePaths:
    cert_path: Path
    key_path: Path


def certificate_paths(data: str) -> CertificatePaths:
    """Where the certificate of a sandbox with this data file lives (a per-process temp dir for ``:memory:``)."""
    base = _process_temp_dir() / "sandbox" if data == ":memory:" else Path(data)
    return CertificatePaths(Path(f"{base}.cert.pem"), Path(f"{base}.key.pem"))


def _process_temp_dir() -> Path:
    global _memory_dir
    with _memory_lock:
        if _memory_dir is None:
            _memory_dir = Path(tempfile.mkdtemp(prefix="salesbridge-sandbox-"))
            atexit.register(shutil.rmtree, _memory_dir, True)
        return _memory_dir


def ensure_certificate(data: str, hosts: tuple[str, ...] = ()) -> CertificatePaths:
    """The certificate for this data file, made now if missing, expired or not naming every host."""
    paths = certificate_paths(data)
    wanted = _names(hosts)
    with _memory_lock:
        if not _usable(paths, wanted):
            _write_certificate(paths, wanted)
    return paths


def _names(hosts: tuple[str, ...]) -> tuple[str, ...]:
    extra = [h for h in hosts if h and h not in ("0.0.0.0", "::") and h not in DEFAULT_HOSTS]
    return (*DEFAULT_HOSTS, *extra)


def _usable(paths: CertificatePaths, names: tuple[str, ...]) -> bool:
    if not (paths.cert_path.exists() and paths.key_path.exists()):
        return False
    try:
        certificate = x509.load_pem_x509_certificate(paths.cert_path.read_bytes())
        san = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except (ValueError, x509.ExtensionNotFound):
        return False
    covered = {str(ip) for ip in san.get_values_for_type(x509.IPAddress)}
    covered |= set(san.get_values_for_type(x509.DNSName))
    not_expired = certificate.not_valid_after_utc > datetime.datetime.now(datetime.UTC) + datetime.timedelta(days=1)
    return not_expired and all(_canonical(name) in covered for name in names)


def _canonical(name: str) -> str:
    try:
        return str(ipaddress.ip_address(name))
    except ValueError:
        return name


def _write_certificate(paths: CertificatePaths, names: tuple[str, ...]) -> None:
    # EC P-256: generated in a millisecond (RSA would slow every test's server start) and accepted everywhere.
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, "salesbridge sandbox"),
        x509.NameAttribute(NameOID.COMMON_NAME, "salesbridge sandbox (self-signed)"),
    ])
    alt_names: list[x509.GeneralName] = []
    for name in names:
        try:
            alt_names.append(x509.IPAddress(ipaddress.ip_address(name)))
        except ValueError:
            alt_names.append(x509.DNSName(name))
    now = datetime.datetime.now(datetime.UTC)
    public_key = key.public_key()
    certificate = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + _VALIDITY)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                     content_commitment=False, key_encipherment=False, data_encipherment=False,
                                     key_agreement=False, encipher_only=False, decipher_only=False), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectAlternativeName(alt_names), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(public_key), critical=False)
        .sign(key, hashes.SHA256())
    )
    paths.cert_path.parent.mkdir(parents=True, exist_ok=True)
    key_bytes = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                  serialization.NoEncryption())
    paths.key_path.touch(mode=0o600, exist_ok=True)
    paths.key_path.write_bytes(key_bytes)
    paths.cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
