"""Encrypting secrets at rest (access keys' secret halves) with the server key.

SigV4 needs the plaintext secret to recompute signatures, so secrets are encrypted
(AES-256-GCM), not hashed. The server key comes from the configuration or from a file
in the data directory, created on first use with owner-only permissions; several
nodes must share it.
"""

from __future__ import annotations

import base64
import binascii
import os
import secrets
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

KEY_FILE = "server.key"
NONCE_BYTES = 12


class SecretBoxError(ValueError):
    """A server key or a sealed secret that cannot be used."""


def _decode_key(text: str) -> bytes:
    try:
        key = base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise SecretBoxError("the server key must be 32 bytes in base64") from exc
    if len(key) != 32:
        raise SecretBoxError("the server key must be 32 bytes in base64")
    return key


def load_key(configured: str, data_dir: str, create: bool = True) -> bytes:
    """The configured key, or the data directory's key file (created if missing and
    `create`: never for PostgreSQL, whose nodes must share one key, and a key made by
    one node or one CLI run alone would lock the others out)."""
    if configured:
        return _decode_key(configured)
    path = Path(data_dir) / KEY_FILE
    if not path.exists() and not create:
        raise SecretBoxError(
            f"no server key: give --server-key (or SUPPORTD_SERVER_KEY), the same on every "
            f"node and for the CLI, or put it in {path}; make one with "
            "`openssl rand -base64 32`"
        )
    if not path.exists():
        if not path.parent.exists():
            # The data directory: owner-only, as storage.files makes it (the key may be
            # made before the database is).
            path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            os.chmod(path.parent, 0o700)
        text = base64.b64encode(secrets.token_bytes(32)).decode()
        # O_EXCL: two processes starting at once must not each write a different key.
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass
        else:
            os.fchmod(fd, 0o600)  # whatever the umask
            with os.fdopen(fd, "w") as handle:
                handle.write(text + "\n")
    return _decode_key(path.read_text())


class SecretBox:
    def __init__(self, key: bytes) -> None:
        self._aead = AESGCM(key)

    def seal(self, plaintext: str, context: str) -> str:
        """Encrypt; `context` (e.g. the access key id) binds the secret to its row."""
        nonce = secrets.token_bytes(NONCE_BYTES)
        sealed = self._aead.encrypt(nonce, plaintext.encode(), context.encode())
        return base64.b64encode(nonce + sealed).decode()

    def open(self, sealed: str, context: str) -> str:
        try:
            raw = base64.b64decode(sealed)
            return self._aead.decrypt(
                raw[:NONCE_BYTES], raw[NONCE_BYTES:], context.encode()
            ).decode()
        except (binascii.Error, ValueError, InvalidTag) as exc:
            raise SecretBoxError(
                "a stored secret cannot be decrypted with this server key"
            ) from exc
