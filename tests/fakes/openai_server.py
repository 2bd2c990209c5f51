"""A fake OpenAI embeddings endpoint on 127.0.0.1, speaking the wire protocol the real `openai` SDK
uses: POST {base_url}/embeddings with a bearer key, `input` a string or a list, `encoding_format`
float or base64, optional `dimensions`; the answer's `data[i].index`, `embedding` and `usage`.

Vectors are deterministic (seeded by the text), so equal texts get equal vectors; tokens are
counted as whitespace-separated words. `fail_next` makes the next N requests answer an error
status (429/500: the SDK retries them).
"""

from __future__ import annotations

import base64
import hashlib
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np

DIMENSIONS = {"text-embedding-3-small": 1536, "text-embedding-3-large": 3072, "text-embedding-ada-002": 1536}


def fake_vector(text: str, dimension: int) -> np.ndarray:
    seed = int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "little")
    vector = np.random.default_rng(seed).standard_normal(dimension).astype(np.float32)
    return vector / np.linalg.norm(vector)


class FakeOpenAIServer:
    def __init__(self, api_key: str = "sk-test-fake"):
        self.api_key = api_key
        self.requests: list[dict] = []
        self.fail_next: list[int] = []  # statuses to answer, one per coming request
        self._server: ThreadingHTTPServer | None = None

    @property
    def base_url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}/v1"

    def start(self) -> FakeOpenAIServer:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def _reply(self, status: int, body: dict) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _error(self, status: int, message: str, kind: str, code: str | None = None) -> None:
                self._reply(status, {"error": {"message": message, "type": kind, "param": None, "code": code}})

            def do_POST(self):  # noqa: N802 (http.server's naming)
                raw = self.rfile.read(int(self.headers.get("content-length", 0)))
                if self.path.rstrip("/") != "/v1/embeddings":
                    return self._error(404, f"Unknown request URL: POST {self.path}", "invalid_request_error")
                if self.headers.get("authorization") != f"Bearer {fake.api_key}":
                    return self._error(401, "Incorrect API key provided.", "invalid_request_error", "invalid_api_key")
                body = json.loads(raw or b"{}")
                fake.requests.append(body)
                if fake.fail_next:
                    status = fake.fail_next.pop(0)
                    return self._error(status, "The server had an error", "server_error")
                model = body.get("model")
                if model not in DIMENSIONS:
                    return self._error(404, f"The model `{model}` does not exist", "invalid_request_error")
                inputs = body.get("input")
                inputs = [inputs] if isinstance(inputs, str) else inputs
                if not isinstance(inputs, list) or not inputs or len(inputs) > 2048:
                    return self._error(400, "'input' must be a non-empty string or array", "invalid_request_error")
                dimension = int(body.get("dimensions") or DIMENSIONS[model])
                data, tokens = [], 0
                for index, text in enumerate(inputs):
                    vector = fake_vector(str(text), dimension)
                    tokens += max(1, len(str(text).split()))
                    if body.get("encoding_format") == "base64":
                        embedding: object = base64.b64encode(vector.tobytes()).decode()
                    else:
                        embedding = vector.tolist()
                    data.append({"object": "embedding", "index": index, "embedding": embedding})
                self._reply(
                    200,
                    {
                        "object": "list",
                        "data": data,
                        "model": model,
                        "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
                    },
                )

            def log_message(self, format, *args):  # quiet
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
