"""CurveZMQ keys for streams that leave the machine: the publisher proves who it is and encrypts; subscribers
present keys the publisher may check against a folder of allowed ones.

Key files are ZeroMQ's own certificate format (`zmq.auth.create_certificates`): NAME.key holds the public key,
NAME.key_secret both. Give subscribers the publisher's NAME.key; keep NAME.key_secret on the publisher.
"""

from __future__ import annotations

from pathlib import Path

import zmq
import zmq.auth


class KeyFileError(ValueError):
    """A key file that is missing or not a ZeroMQ certificate."""


def make_keys(folder: Path, name: str) -> tuple[Path, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    public, secret = zmq.auth.create_certificates(str(folder), name)
    Path(secret).chmod(0o600)
    return Path(public), Path(secret)


def load(path: Path, secret: bool) -> tuple[bytes, bytes | None]:
    try:
        public, private = zmq.auth.load_certificate(str(path))
    except (OSError, ValueError) as exc:
        raise KeyFileError(f"{path}: not a ZeroMQ key file ({exc}); make keys with `emograph keys DIR`") from None
    if secret and private is None:
        raise KeyFileError(f"{path}: holds no secret key; use the NAME.key_secret file here")
    return public, private


def serve_curve(sock: zmq.Socket, secret_file: Path) -> None:
    """Make a binding socket a CURVE server with this key pair (call before bind)."""
    public, private = load(secret_file, secret=True)
    sock.curve_publickey, sock.curve_secretkey, sock.curve_server = public, private, True


def allow_only(ctx: zmq.Context, clients: Path) -> "zmq.auth.thread.ThreadAuthenticator":
    """Accept only subscribers whose public key file is in `clients`."""
    from zmq.auth.thread import ThreadAuthenticator

    if not clients.is_dir():
        raise KeyFileError(f"{clients}: no such folder of allowed subscriber keys")
    auth = ThreadAuthenticator(ctx)
    auth.start()
    auth.configure_curve(domain="*", location=str(clients))
    return auth


def connect_curve(sock: zmq.Socket, server_key: Path, client_key: Path | None = None) -> None:
    """Make a connecting socket a CURVE client of the server whose public key file is given (before connect)."""
    server_public, _ = load(server_key, secret=False)
    if client_key is not None:
        public, private = load(client_key, secret=True)
    else:
        public, private = zmq.curve_keypair()
    sock.curve_serverkey, sock.curve_publickey, sock.curve_secretkey = server_public, public, private
