"""A wire-level fake GoogleAdsService (gRPC over TLS on 127.0.0.1) for the real `google-ads` client.

It answers GAQL `SearchStream` calls with real protobuf `GoogleAdsRow` messages built from any
`AdSource` (the demo data by default), and can inject errors before or in the middle of a stream,
shaped exactly as Google sends them: a status code plus a serialized `GoogleAdsFailure` in the
trailing metadata. See shared/notes/google-ads-fake-server.md for the wire facts it relies on.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
import re
import tempfile
import threading
import uuid
from concurrent import futures
from dataclasses import dataclass
from pathlib import Path

import grpc

API_VERSION = "v26"
METHOD = f"/google.ads.googleads.{API_VERSION}.services.GoogleAdsService/SearchStream"
FAILURE_KEY = f"google.ads.googleads.{API_VERSION}.errors.googleadsfailure-bin"

_CERT_LOCK = threading.Lock()
_CERT: tuple[bytes, bytes] | None = None
ROOTS_ENV = "GRPC_DEFAULT_SSL_ROOTS_FILE_PATH"


def _types():
    from google.ads.googleads.v26.errors.types import errors
    from google.ads.googleads.v26.services.types import google_ads_service

    return google_ads_service, errors


def tls_certificate() -> tuple[bytes, bytes]:
    """One self-signed certificate per process: gRPC reads its trust roots only once.

    Sets GRPC_DEFAULT_SSL_ROOTS_FILE_PATH, which must happen before the process opens its first
    TLS channel.
    """
    global _CERT
    with _CERT_LOCK:
        if _CERT is None:
            from cryptography import x509
            from cryptography.hazmat.primitives import hashes, serialization
            from cryptography.hazmat.primitives.asymmetric import ec
            from cryptography.x509.oid import NameOID

            key = ec.generate_private_key(ec.SECP256R1())
            name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
            now = dt.datetime.now(dt.UTC)
            cert = (
                x509.CertificateBuilder()
                .subject_name(name)
                .issuer_name(name)
                .public_key(key.public_key())
                .serial_number(x509.random_serial_number())
                .not_valid_before(now - dt.timedelta(minutes=5))
                .not_valid_after(now + dt.timedelta(days=1))
                .add_extension(
                    x509.SubjectAlternativeName(
                        [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
                    ),
                    critical=False,
                )
                .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
                .sign(key, hashes.SHA256())
            )
            cert_pem = cert.public_bytes(serialization.Encoding.PEM)
            key_pem = key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            )
            roots = Path(tempfile.mkdtemp(prefix="fake-gads-")) / "roots.pem"
            roots.write_bytes(cert_pem)
            os.environ[ROOTS_ENV] = str(roots)
            _CERT = (cert_pem, key_pem)
        return _CERT


@dataclass
class InjectedError:
    """Fail calls for one customer: `times` calls, after `after_messages` streamed messages."""

    code: grpc.StatusCode
    error_code: dict  # e.g. {"quota_error": "RESOURCE_EXHAUSTED"}
    message: str
    after_messages: int = 0
    times: int = 1


class FakeGoogleAdsServer:
    def __init__(self, source, page_size: int = 500):
        self.source = source
        self.page_size = page_size
        self.requests: list[tuple[str, str]] = []
        self.metadata: list[dict[str, str]] = []  # per call: authorization, developer-token, ...
        self._errors: dict[str, list[InjectedError]] = {}
        self._server: grpc.Server | None = None
        self.port: int | None = None

    # -- control -------------------------------------------------------------------------------
    def inject(self, customer_id: str, error: InjectedError) -> None:
        self._errors.setdefault(customer_id, []).append(error)

    @property
    def endpoint(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self) -> FakeGoogleAdsServer:
        google_ads_service, _ = _types()
        cert_pem, key_pem = tls_certificate()
        handler = grpc.method_handlers_generic_handler(
            "google.ads.googleads.v26.services.GoogleAdsService",
            {
                "SearchStream": grpc.unary_stream_rpc_method_handler(
                    self._search_stream,
                    request_deserializer=google_ads_service.SearchGoogleAdsStreamRequest.deserialize,
                    response_serializer=google_ads_service.SearchGoogleAdsStreamResponse.serialize,
                )
            },
        )
        self._server = grpc.server(futures.ThreadPoolExecutor(max_workers=8))
        self._server.add_generic_rpc_handlers((handler,))
        creds = grpc.ssl_server_credentials([(key_pem, cert_pem)])
        self.port = self._server.add_secure_port("127.0.0.1:0", creds)
        self._server.start()
        return self

    def stop(self) -> None:
        if self._server:
            self._server.stop(grace=None)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    # -- the service ---------------------------------------------------------------------------
    def _search_stream(self, request, context):
        google_ads_service, _ = _types()
        customer_id, query = request.customer_id, request.query
        self.requests.append((customer_id, query))
        self.metadata.append({k: v for k, v in context.invocation_metadata() if isinstance(v, str)})
        error = self._next_error(customer_id)
        rows = self._rows(customer_id, query)
        for index, start in enumerate(range(0, max(len(rows), 1), self.page_size)):
            if error and index >= error.after_messages:
                self._abort(context, error)
            yield google_ads_service.SearchGoogleAdsStreamResponse(
                results=rows[start : start + self.page_size], request_id=uuid.uuid4().hex[:22]
            )
        if error:
            self._abort(context, error)

    def _next_error(self, customer_id: str) -> InjectedError | None:
        queue = self._errors.get(customer_id) or []
        if not queue:
            return None
        error = queue[0]
        error.times -= 1
        if error.times <= 0:
            queue.pop(0)
        return error

    def _abort(self, context, error: InjectedError):
        _, errors = _types()
        ((field, value),) = error.error_code.items()
        code = errors.ErrorCode(**{field: value})
        failure = errors.GoogleAdsFailure(
            errors=[errors.GoogleAdsError(error_code=code, message=error.message)],
            request_id=uuid.uuid4().hex[:22],
        )
        context.set_trailing_metadata(
            ((FAILURE_KEY, errors.GoogleAdsFailure.serialize(failure)), ("request-id", failure.request_id))
        )
        context.abort(error.code, error.message)

    # -- GAQL -> rows ----------------------------------------------------------------------------
    def _rows(self, customer_id: str, query: str) -> list:
        resource = re.search(r"\bFROM\s+(\w+)", query, re.I).group(1).lower()
        with_metrics = "metrics." in query
        dates = re.search(r"segments\.date\s+BETWEEN\s+'([\d-]+)'\s+AND\s+'([\d-]+)'", query, re.I)
        start, end = (
            (dt.date.fromisoformat(dates.group(1)), dt.date.fromisoformat(dates.group(2))) if dates else (None, None)
        )
        try:
            builder = {
                ("customer", False): self._customer_rows,
                ("campaign", False): self._campaign_rows,
                ("campaign", True): self._campaign_metric_rows,
                ("ad_group", False): self._ad_group_rows,
                ("ad_group_ad", False): self._ad_rows,
                ("ad_group_ad", True): self._ad_metric_rows,
            }[(resource, with_metrics)]
        except KeyError:
            raise NotImplementedError(f"fake server cannot answer: {query}") from None
        return builder(customer_id, start, end)

    def _row(self, **parts):
        google_ads_service, _ = _types()
        return google_ads_service.GoogleAdsRow(**parts)

    def _customer_rows(self, cid, *_):
        c = self.source.customer(cid)
        return [
            self._row(
                customer={
                    "id": int(cid),
                    "descriptive_name": c["name"],
                    "currency_code": c["currency_code"],
                    "time_zone": c["time_zone"],
                }
            )
        ]

    def _campaign_rows(self, cid, *_):
        return [
            self._row(
                customer={"id": int(cid)},
                campaign={
                    "id": int(c["campaign_id"]),
                    "name": c["name"],
                    "status": c["status"],
                    "advertising_channel_type": c["channel_type"],
                    "start_date_time": f"{c['start_date']} 00:00:00" if c["start_date"] else "",
                    "end_date_time": f"{c['end_date']} 23:59:59" if c["end_date"] else "",
                },
            )
            for c in self.source.campaigns(cid)
        ]

    def _ad_group_rows(self, cid, *_):
        return [
            self._row(
                campaign={"id": int(g["campaign_id"])},
                ad_group={"id": int(g["ad_group_id"]), "name": g["name"], "status": g["status"]},
            )
            for g in self.source.ad_groups(cid)
        ]

    def _ad_rows(self, cid, *_):
        groups = {g["ad_group_id"]: g["campaign_id"] for g in self.source.ad_groups(cid)}
        return [
            self._row(
                campaign={"id": int(groups[a["ad_group_id"]])},
                ad_group={"id": int(a["ad_group_id"])},
                ad_group_ad={
                    "status": a["status"],
                    "ad": {
                        "id": int(a["ad_id"]),
                        "type_": a["ad_type"],
                        "final_urls": [a["final_url"]] if a["final_url"] else [],
                        "responsive_search_ad": {
                            "headlines": [{"text": h} for h in a["headlines"]],
                            "descriptions": [{"text": d} for d in a["descriptions"]],
                        },
                    },
                },
            )
            for a in self.source.ads(cid)
        ]

    @staticmethod
    def _metrics(m) -> dict:
        return {
            "impressions": m["impressions"],
            "clicks": m["clicks"],
            "cost_micros": m["cost_micros"],
            "conversions": float(m["conversions"]),
            "conversions_value": float(m["conversions_value"]),
        }

    def _campaign_metric_rows(self, cid, start, end):
        return [
            self._row(
                campaign={"id": int(m["campaign_id"])},
                segments={"date": m["date"].isoformat()},
                metrics=self._metrics(m),
            )
            for m in self.source.campaign_daily_metrics(cid, start, end)
        ]

    def _ad_metric_rows(self, cid, start, end):
        return [
            self._row(
                campaign={"id": int(m["campaign_id"])},
                ad_group={"id": int(m["ad_group_id"])},
                ad_group_ad={"ad": {"id": int(m["ad_id"])}},
                segments={"date": m["date"].isoformat()},
                metrics=self._metrics(m),
            )
            for m in self.source.ad_daily_metrics(cid, start, end)
        ]
