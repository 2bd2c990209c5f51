"""Google Ads through the official `google-ads` client: GAQL SearchStream into `raw`-shaped rows.

Credentials come from the client library's own conventions: the GOOGLE_ADS_* environment
variables (developer token, OAuth client id/secret, refresh token, login customer id) or a
`google-ads.yaml` named by GOOGLE_ADS_CONFIGURATION_FILE_PATH. Nothing here logs them.

Transient and quota errors are retried with exponential backoff and jitter. They reach us in two
shapes (shared/notes/google-ads-fake-server.md): `GoogleAdsException` for most statuses, and
`google.api_core` exceptions (ResourceExhausted, InternalServerError, ...) for RESOURCE_EXHAUSTED
and INTERNAL. Auth and permission errors are not retried: they fail that account only.
"""

from __future__ import annotations

import logging
from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import grpc
import tenacity

from resources.ids import GOOGLE_ADS, normalize_account_id

log = logging.getLogger(__name__)

# The one place the Google Ads API version is pinned (google-ads 34 supports v23-v26).
API_VERSION = "v26"
PLATFORM = GOOGLE_ADS
SOURCE = "google_ads_api"

TRANSIENT_CODES = {
    grpc.StatusCode.RESOURCE_EXHAUSTED,
    grpc.StatusCode.INTERNAL,
    grpc.StatusCode.UNAVAILABLE,
    grpc.StatusCode.DEADLINE_EXCEEDED,
}

CUSTOMER_QUERY = """
    SELECT customer.id, customer.descriptive_name, customer.currency_code, customer.time_zone
    FROM customer"""
CAMPAIGNS_QUERY = """
    SELECT campaign.id, campaign.name, campaign.status, campaign.advertising_channel_type,
           campaign.start_date_time, campaign.end_date_time
    FROM campaign"""
AD_GROUPS_QUERY = """
    SELECT campaign.id, ad_group.id, ad_group.name, ad_group.status
    FROM ad_group"""
ADS_QUERY = """
    SELECT campaign.id, ad_group.id, ad_group_ad.status, ad_group_ad.ad.id, ad_group_ad.ad.type,
           ad_group_ad.ad.final_urls, ad_group_ad.ad.responsive_search_ad.headlines,
           ad_group_ad.ad.responsive_search_ad.descriptions
    FROM ad_group_ad"""
METRICS = "metrics.impressions, metrics.clicks, metrics.cost_micros, metrics.conversions, metrics.conversions_value"
CAMPAIGN_METRICS_QUERY = f"""
    SELECT campaign.id, segments.date, {METRICS}
    FROM campaign
    WHERE segments.date BETWEEN '{{start}}' AND '{{end}}'"""
AD_METRICS_QUERY = f"""
    SELECT campaign.id, ad_group.id, ad_group_ad.ad.id, segments.date, {METRICS}
    FROM ad_group_ad
    WHERE segments.date BETWEEN '{{start}}' AND '{{end}}'"""


# -- errors --------------------------------------------------------------------------------------
def status_code(exc: BaseException) -> grpc.StatusCode | None:
    from google.ads.googleads.errors import GoogleAdsException
    from google.api_core.exceptions import GoogleAPICallError

    if isinstance(exc, GoogleAdsException):
        return exc.error.code()
    if isinstance(exc, GoogleAPICallError):
        return exc.grpc_status_code
    if isinstance(exc, grpc.RpcError):
        return exc.code()
    return None


def is_transient(exc: BaseException) -> bool:
    return status_code(exc) in TRANSIENT_CODES


def describe_error(exc: BaseException) -> str:
    """A message that names the API's error codes and request id (never credentials)."""
    from google.ads.googleads.errors import GoogleAdsException

    code = status_code(exc)
    if isinstance(exc, GoogleAdsException):
        details = "; ".join(
            f"{type(e.error_code).pb(e.error_code).WhichOneof('error_code')}={e.message}" for e in exc.failure.errors
        )
        return f"Google Ads {code.name if code else 'error'} (request {exc.request_id}): {details}"
    return f"Google Ads {code.name if code else type(exc).__name__}: {exc}"


class GoogleAdsError(RuntimeError):
    """An account's extract failed; the message says what Google said and what to check."""


# -- conversions ---------------------------------------------------------------------------------
def _day(value: str) -> date | None:
    # v26 sends dates as "YYYY-MM-DD" or date-times as "YYYY-MM-DD HH:MM:SS"; empty when unset.
    return date.fromisoformat(value[:10]) if value else None


def _decimal(value: float) -> Decimal:
    return Decimal(repr(value)) if value else Decimal("0")


def _metrics(row) -> dict:
    m = row.metrics
    return {
        "impressions": m.impressions,
        "clicks": m.clicks,
        "cost_micros": m.cost_micros,
        "conversions": _decimal(m.conversions),
        "conversions_value": _decimal(m.conversions_value),
    }


# -- the source ----------------------------------------------------------------------------------
class GoogleAdsSource:
    """AdSource over the Google Ads API for the given customer ids (digits only)."""

    platform = PLATFORM
    source = SOURCE

    def __init__(
        self,
        client,
        customer_ids: list[str],
        history_days: int = 90,
        max_attempts: int = 5,
        backoff_initial: float = 1.0,
        backoff_max: float = 30.0,
    ):
        self.client = client
        self.customer_ids = [normalize_account_id(PLATFORM, cid) for cid in customer_ids]
        self.history_days = history_days
        self.retrying = tenacity.Retrying(
            retry=tenacity.retry_if_exception(is_transient),
            stop=tenacity.stop_after_attempt(max_attempts),
            wait=tenacity.wait_exponential_jitter(initial=backoff_initial, max=backoff_max),
            before_sleep=self._log_retry,
            reraise=True,
        )
        self._customers: dict[str, dict] = {}

    @staticmethod
    def _log_retry(state: tenacity.RetryCallState) -> None:
        # before_sleep runs only after a failed attempt, so there is an outcome holding its exception.
        assert state.outcome is not None
        error = state.outcome.exception()
        assert error is not None
        log.warning("Google Ads call failed (%s); retry %d", describe_error(error), state.attempt_number)

    def search(self, customer_id: str, query: str) -> list:
        """All rows of a GAQL query. A stream that fails midway is retried whole, so a retry
        never returns half a result."""
        for attempt in self.retrying:
            with attempt:
                # Keep the service referenced while iterating, or its channel is collected mid-stream.
                service = self.client.get_service("GoogleAdsService", version=API_VERSION)
                stream = service.search_stream(customer_id=customer_id, query=query)
                return [row for batch in stream for row in batch.results]
        raise AssertionError("unreachable: tenacity re-raises the last error")

    def _search(self, customer_id: str, query: str) -> list:
        try:
            return self.search(customer_id, query)
        except Exception as exc:
            if status_code(exc) is None:
                raise
            raise GoogleAdsError(f"customer {customer_id}: {describe_error(exc)}") from exc

    # -- AdSource ------------------------------------------------------------------------------
    def accounts(self) -> list[dict]:
        # Only ids: names and currencies are read per account, so one unreachable account
        # cannot stop the others from being registered.
        return [
            {"account_id": cid, "name": None, "currency_code": None, "time_zone": None} for cid in self.customer_ids
        ]

    def customer(self, account_id: str) -> dict:
        if account_id not in self._customers:
            rows = self._search(account_id, CUSTOMER_QUERY)
            if not rows:
                raise GoogleAdsError(f"customer {account_id}: the API returned no customer row")
            c = rows[0].customer
            self._customers[account_id] = {
                "account_id": str(c.id),
                "name": c.descriptive_name,
                "currency_code": c.currency_code,
                "time_zone": c.time_zone,
            }
        return self._customers[account_id]

    def date_range(self, account_id: str) -> tuple[date, date]:
        """History ending today in the account's time zone (today's figures are partial)."""
        today = datetime.now(ZoneInfo(self.customer(account_id)["time_zone"])).date()
        return today - timedelta(days=self.history_days - 1), today

    def campaigns(self, account_id: str) -> list[dict]:
        return [
            {
                "account_id": account_id,
                "campaign_id": str(r.campaign.id),
                "name": r.campaign.name,
                "status": r.campaign.status.name,
                "channel_type": r.campaign.advertising_channel_type.name,
                "start_date": _day(r.campaign.start_date_time),
                "end_date": _day(r.campaign.end_date_time),
            }
            for r in self._search(account_id, CAMPAIGNS_QUERY)
        ]

    def ad_groups(self, account_id: str) -> list[dict]:
        return [
            {
                "account_id": account_id,
                "campaign_id": str(r.campaign.id),
                "ad_group_id": str(r.ad_group.id),
                "name": r.ad_group.name,
                "status": r.ad_group.status.name,
            }
            for r in self._search(account_id, AD_GROUPS_QUERY)
        ]

    def ads(self, account_id: str) -> list[dict]:
        rows = []
        for r in self._search(account_id, ADS_QUERY):
            ad = r.ad_group_ad.ad
            rsa = ad.responsive_search_ad
            rows.append(
                {
                    "account_id": account_id,
                    "ad_group_id": str(r.ad_group.id),
                    "ad_id": str(ad.id),
                    "ad_type": ad.type_.name,
                    "headlines": [h.text for h in rsa.headlines],
                    "descriptions": [d.text for d in rsa.descriptions],
                    "final_url": ad.final_urls[0] if ad.final_urls else None,
                    "status": r.ad_group_ad.status.name,
                }
            )
        return rows

    def campaign_daily_metrics(self, account_id: str, start: date, end: date) -> list[dict]:
        query = CAMPAIGN_METRICS_QUERY.format(start=start.isoformat(), end=end.isoformat())
        return [
            {"account_id": account_id, "campaign_id": str(r.campaign.id), "date": _day(r.segments.date), **_metrics(r)}
            for r in self._search(account_id, query)
        ]

    def ad_daily_metrics(self, account_id: str, start: date, end: date) -> list[dict]:
        query = AD_METRICS_QUERY.format(start=start.isoformat(), end=end.isoformat())
        return [
            {
                "account_id": account_id,
                "campaign_id": str(r.campaign.id),
                "ad_group_id": str(r.ad_group.id),
                "ad_id": str(r.ad_group_ad.ad.id),
                "date": _day(r.segments.date),
                **_metrics(r),
            }
            for r in self._search(account_id, query)
        ]


def client_from_settings(credentials: dict[str, str], endpoint: str | None = None):
    """A client from the library's own configuration keys: `credentials` are the GOOGLE_ADS_*
    variables (resources.settings.google_ads_credentials), or name a google-ads.yaml."""
    from google.ads.googleads.client import GoogleAdsClient
    from google.auth.exceptions import GoogleAuthError

    try:
        if credentials.get("developer_token"):
            client = GoogleAdsClient.load_from_dict({"use_proto_plus": True, **credentials}, version=API_VERSION)
        elif credentials.get("configuration_file_path"):
            client = GoogleAdsClient.load_from_storage(credentials["configuration_file_path"], version=API_VERSION)
        else:
            client = None
    except GoogleAuthError as exc:
        # The client exchanges its credentials for an access token while it is built: a token
        # endpoint that cannot be reached (network, DNS, TLS, proxy) or that refuses them lands here.
        raise GoogleAdsError(
            f"Google Ads authentication failed before any API call ({type(exc).__name__}: {exc}). "
            "Check that the OAuth token endpoint is reachable from this machine (network, DNS, proxy, TLS "
            "certificates) and that the credentials are valid (GOOGLE_ADS_* variables or the google-ads.yaml "
            "named by GOOGLE_ADS_CONFIGURATION_FILE_PATH)."
        ) from exc
    if client is None:
        raise GoogleAdsError(
            "No Google Ads credentials: set GOOGLE_ADS_DEVELOPER_TOKEN, GOOGLE_ADS_CLIENT_ID, "
            "GOOGLE_ADS_CLIENT_SECRET, GOOGLE_ADS_REFRESH_TOKEN (and GOOGLE_ADS_LOGIN_CUSTOMER_ID for a "
            "manager account), or GOOGLE_ADS_CONFIGURATION_FILE_PATH to a google-ads.yaml."
        )
    if endpoint:
        client.endpoint = endpoint
    return client
