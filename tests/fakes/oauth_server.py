"""A fake OAuth 2.0 token endpoint (HTTPS on 127.0.0.1) for service-account credentials.

A service-account key names its token endpoint (`token_uri`), so the real google-auth flow
(signed JWT assertion -> access token) runs against this server with no network.
"""

from __future__ import annotations

import json
import ssl
import tempfile
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs

from tests.fakes.google_ads_server import tls_certificate


class FakeOAuthServer:
    def __init__(self):
        self.grants: list[dict] = []
        self.tokens: list[str] = []
        self._server: ThreadingHTTPServer | None = None

    def start(self) -> FakeOAuthServer:
        cert_pem, key_pem = tls_certificate()
        folder = Path(tempfile.mkdtemp(prefix="fake-oauth-"))
        (folder / "cert.pem").write_bytes(cert_pem)
        (folder / "key.pem").write_bytes(key_pem)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(folder / "cert.pem", folder / "key.pem")
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 (http.server's naming)
                body = self.rfile.read(int(self.headers.get("content-length", 0))).decode()
                fake.grants.append({k: v[0] for k, v in parse_qs(body).items()})
                token = f"fake-access-{uuid.uuid4().hex[:12]}"
                fake.tokens.append(token)
                payload = json.dumps({"access_token": token, "expires_in": 3600, "token_type": "Bearer"}).encode()
                self.send_response(200)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args):
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.socket = context.wrap_socket(self._server.socket, server_side=True)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    @property
    def token_uri(self) -> str:
        return f"https://127.0.0.1:{self._server.server_address[1]}/token"

    def stop(self) -> None:
        if self._server:
            self._server.shutdown()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


def service_account_key(path: Path, token_uri: str) -> Path:
    """A throwaway service-account key file whose token endpoint is the fake server."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    path.write_text(
        json.dumps(
            {
                "type": "service_account",
                "project_id": "burry-tests",
                "private_key_id": uuid.uuid4().hex,
                "private_key": pem,
                "client_email": "extractor@burry-tests.iam.gserviceaccount.com",
                "client_id": "1",
                "token_uri": token_uri,
            }
        )
    )
    return path
