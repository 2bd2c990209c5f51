"""What a prompt snapshot says about its subject, read from the prompt marts (seed 000 §3.2).

A subject is one partition of `prompts/snapshots`: an ad account (`google_ads:4216739015`) or a
ticket source (`tickets:demo`). `account_context` / `ticket_context` return the template's context
(every value a string, formatted here once: fixed decimals, thousands separators, rows in a stable
order, no wall-clock time but the data's own refresh time) and the keys of the mart rows used.
Same rows in, same bytes out.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

from resources.ids import GOOGLE_ADS, META, account_partition_key, split_partition_key

ACCOUNT_TEMPLATE = "account-system-prompt"
TICKET_TEMPLATE = "ticket-support-prompt"
TICKET_PREFIX = "tickets:"
WINDOW_DAYS = 30
SHORT_WINDOW_DAYS = 7
NO_RULES = "None yet."
REFRESH_FORMAT = "%Y-%m-%d %H:%M UTC"
NO_DATA = "No data in this window."
PLATFORM_NAMES = {GOOGLE_ADS: "Google Ads", META: "Meta Ads"}
AD_METRICS = "spend, impressions, clicks, conversions, conversion value, CTR, CPC, CPA and ROAS"
TICKET_METRICS = (
    "tickets created, first responses, tickets resolved, open backlog, average first-response and resolution "
    "hours, and SLA attainment"
)


@dataclass(frozen=True)
class Subject:
    kind: str  # ad_account | ticket_source
    key: str  # the partition key
    platform: str | None = None
    account_id: str | None = None
    source: str | None = None


def ad_account_subject(platform: str, account_id: str) -> Subject:
    return Subject("ad_account", account_partition_key(platform, account_id), platform, account_id)


def ticket_subject(source: str) -> Subject:
    return Subject("ticket_source", f"{TICKET_PREFIX}{source}", source=source)


def subject_for(key: str) -> Subject:
    if key.startswith(TICKET_PREFIX):
        return ticket_subject(key[len(TICKET_PREFIX) :])
    return ad_account_subject(*split_partition_key(key))


def subject_keys(cur) -> list[str]:
    """Every subject there should be a snapshot of: registered ad accounts and ticket sources with tickets."""
    cur.execute("SELECT platform, account_id FROM app.ad_accounts ORDER BY platform, account_id")
    keys = [account_partition_key(platform, account_id) for platform, account_id in cur.fetchall()]
    cur.execute("SELECT source FROM app.ticket_sources UNION SELECT DISTINCT source FROM raw.tickets ORDER BY source")
    return keys + [f"{TICKET_PREFIX}{source}" for (source,) in cur.fetchall()]


# -- formatting: one spelling per kind of number ------------------------------------------------------
def _quantize(value: Decimal, places: int) -> Decimal:
    return Decimal(value).quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)


def count(value) -> str:
    return "n/a" if value is None else f"{_quantize(Decimal(value), 0):,}"


def decimal2(value) -> str:
    return "n/a" if value is None else f"{_quantize(Decimal(value), 2):,}"


def money(value, currency: str) -> str:
    return "n/a" if value is None else f"{decimal2(value)} {currency}"


def percent(ratio) -> str:
    return "n/a" if ratio is None else f"{_quantize(Decimal(ratio) * 100, 2):,}%"


def change(new, old) -> str:
    if new is None or old is None or Decimal(old) == 0:
        return "no comparison"
    delta = _quantize((Decimal(new) - Decimal(old)) / Decimal(old) * 100, 1)
    return f"{'+' if delta > 0 else ''}{delta}%"


def day(value: date | None) -> str:
    return "unknown" if value is None else value.isoformat()


def instant(value: datetime | None) -> str:
    """A refresh time, in UTC to the minute: the one wall-clock time a snapshot states."""
    if value is None:
        return "never"
    return value.astimezone(UTC).strftime(REFRESH_FORMAT)


def _rows(cur, sql: str, params: tuple) -> list[dict]:
    cur.execute(sql, params)
    names = [column.name for column in cur.description]
    return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]


def _metrics_line(row: dict, currency: str) -> str:
    return (
        f"spend {money(row['cost'], currency)}, impressions {count(row['impressions'])}, "
        f"clicks {count(row['clicks'])}, conversions {decimal2(row['conversions'])}, "
        f"conversion value {money(row['conversion_value'], currency)}, CTR {percent(row['ctr'])}, "
        f"CPC {money(row['cpc'], currency)}, CPA {money(row['cpa'], currency)}, ROAS {decimal2(row['roas'])}"
    )


def _overview_text(rows: dict[int, dict], currency: str) -> str:
    if not rows:
        return "No data for this account yet."
    lines = []
    for window_days in sorted(rows, reverse=True):
        row = rows[window_days]
        start, end = row["window_start"], row["window_end"]
        previous_start, previous_end = start - timedelta(days=window_days), start - timedelta(days=1)
        lines.append(
            f"Last {window_days} days ({day(start)} to {day(end)}) vs the {window_days} days before "
            f"({day(previous_start)} to {day(previous_end)}):"
        )
        for label, metric, shown in (
            ("Spend", "cost", lambda v: money(v, currency)),
            ("Impressions", "impressions", count),
            ("Clicks", "clicks", count),
            ("Conversions", "conversions", decimal2),
            ("Conversion value", "conversion_value", lambda v: money(v, currency)),
            ("CTR", "ctr", percent),
            ("CPC", "cpc", lambda v: money(v, currency)),
            ("CPA", "cpa", lambda v: money(v, currency)),
            ("ROAS", "roas", decimal2),
        ):
            new, old = row[metric], row[f"previous_{metric}"]
            lines.append(f"- {label}: {shown(new)} (previous {shown(old)}, {change(new, old)})")
        lines.append(
            f"- Campaigns with spend: {count(row['campaigns_with_spend'])}; days with data: "
            f"{count(row['days_with_data'])}; provisional days: {count(row['provisional_days'])}"
        )
    return "\n".join(lines)


def account_context(cur, platform: str, account_id: str) -> tuple[dict[str, str], dict[str, list]]:
    """The account system prompt's context for one account, and the mart row keys it used."""
    cur.execute(
        "SELECT name, currency_code, last_refreshed_at FROM app.ad_accounts WHERE platform = %s AND account_id = %s",
        (platform, account_id),
    )
    registered = cur.fetchone()
    name, currency, refreshed = registered if registered else (None, None, None)
    scope = (platform, account_id)
    overview = _rows(
        cur,
        "SELECT * FROM analytics.account_overview WHERE platform = %s AND account_id = %s "
        "AND window_days IN (%s, %s) ORDER BY window_days",
        (*scope, SHORT_WINDOW_DAYS, WINDOW_DAYS),
    )
    by_window = {row["window_days"]: row for row in overview}
    main = by_window.get(WINDOW_DAYS)
    currency = currency or (main or {}).get("currency_code") or "(currency unknown)"
    name = name or (main or {}).get("account_name") or account_id
    campaigns = _rows(
        cur,
        "SELECT * FROM analytics.top_campaigns WHERE platform = %s AND account_id = %s AND window_days = %s "
        "ORDER BY spend_rank, campaign_id",
        (*scope, WINDOW_DAYS),
    )
    ad_groups = _rows(
        cur,
        "SELECT g.* FROM analytics.top_ad_groups AS g JOIN analytics.top_campaigns AS c "
        "USING (platform, account_id, window_days, campaign_id) "
        "WHERE g.platform = %s AND g.account_id = %s AND g.window_days = %s "
        "ORDER BY c.spend_rank, g.spend_rank, g.ad_group_id",
        (*scope, WINDOW_DAYS),
    )
    ads = _rows(
        cur,
        "SELECT a.*, g.campaign_name FROM analytics.top_ads AS a "
        "JOIN analytics.top_ad_groups AS g USING (platform, account_id, window_days, campaign_id, ad_group_id) "
        "JOIN analytics.top_campaigns AS c USING (platform, account_id, window_days, campaign_id) "
        "WHERE a.platform = %s AND a.account_id = %s AND a.window_days = %s "
        "ORDER BY c.spend_rank, g.spend_rank, a.spend_rank, a.ad_id",
        (*scope, WINDOW_DAYS),
    )

    campaign_lines = [
        f"{row['spend_rank']}. {row['campaign_name'] or row['campaign_id']} (campaign id {row['campaign_id']}, "
        f"{row['channel_type'] or 'type unknown'}, {row['campaign_status'] or 'status unknown'}): "
        + _metrics_line(row, currency)
        for row in campaigns
    ]
    group_lines: list[str] = []
    for row in ad_groups:
        heading = f"In campaign {row['campaign_name'] or row['campaign_id']}:"
        if heading not in group_lines:
            group_lines.append(heading)
        group_lines.append(
            f"  {row['spend_rank']}. {row['ad_group_name'] or row['ad_group_id']} (ad group id {row['ad_group_id']}, "
            f"{row['ad_group_status'] or 'status unknown'}): " + _metrics_line(row, currency)
        )
    ad_lines: list[str] = []
    for row in ads:
        heading = f"In ad group {row['ad_group_name'] or row['ad_group_id']} (campaign {row['campaign_name']}):"
        if heading not in ad_lines:
            ad_lines.append(heading)
        label = row["headline"] or (row["headlines"] or [None])[0] or f"ad {row['ad_id']}"
        ad_lines.append(
            f"  {row['spend_rank']}. {label} (ad id {row['ad_id']}, {row['ad_type'] or 'type unknown'}, "
            f"{row['ad_status'] or 'status unknown'}"
            + (f", {row['final_url']}" if row["final_url"] else "")
            + "): "
            + _metrics_line(row, currency)
        )

    start = main["window_start"] if main else None
    end = main["window_end"] if main else None
    provisional = main["provisional_days"] if main else None
    platform_name = PLATFORM_NAMES.get(platform, platform)
    context = {
        "platform": platform,
        "platform_name": platform_name,
        "account_id": account_id,
        "account_name": name,
        "currency": currency,
        "window_days": str(WINDOW_DAYS),
        "account_overview": _overview_text(by_window, currency),
        "top_campaigns": "\n".join(campaign_lines) or NO_DATA,
        "top_ad_groups": "\n".join(group_lines) or NO_DATA,
        "top_ads": "\n".join(ad_lines) or NO_DATA,
        "correction_rules": NO_RULES,
        "last_refreshed_at": instant(refreshed),
        "data_start_date": day(start),
        "data_end_date": day(end),
        "provisional_days": (
            "unknown"
            if provisional is None
            else f"{count(provisional)} of the last {WINDOW_DAYS} days (their conversions may still change)"
        ),
        "available_metrics": AD_METRICS,
        "available_entities": (
            f"the account {name}, its top 5 campaigns by spend, the top 5 ad groups of each and the top 5 ads "
            f"of each of those, over the last {WINDOW_DAYS} and {SHORT_WINDOW_DAYS} days"
            + (f" ending {day(end)}" if end else "")
        ),
        "deep_link": deep_link(platform, account_id),
    }
    row_keys = {
        "analytics.account_overview": [[platform, account_id, w] for w in sorted(by_window)],
        "analytics.top_campaigns": [[platform, account_id, WINDOW_DAYS, r["campaign_id"]] for r in campaigns],
        "analytics.top_ad_groups": [
            [platform, account_id, WINDOW_DAYS, r["campaign_id"], r["ad_group_id"]] for r in ad_groups
        ],
        "analytics.top_ads": [
            [platform, account_id, WINDOW_DAYS, r["campaign_id"], r["ad_group_id"], r["ad_id"]] for r in ads
        ],
    }
    return context, row_keys


def deep_link(platform: str, account_id: str) -> str:
    if platform == META:
        return f"https://adsmanager.facebook.com/adsmanager/manage/campaigns?act={account_id}"
    return f"https://ads.google.com/aw/overview?__e={account_id}"


# -- tickets --------------------------------------------------------------------------------------------
TICKET_SUMS = (
    "sum(tickets_created) AS created, sum(first_responses) AS first_responses, "
    "sum(tickets_resolved) AS resolved, "
    "sum(first_response_hours_sum) / nullif(sum(first_responses_timed), 0) AS first_response_hours, "
    "sum(resolution_hours_sum) / nullif(sum(resolutions_timed), 0) AS resolution_hours, "
    "sum(first_response_sla_met)::numeric / nullif(sum(first_response_sla_measured), 0) AS first_response_sla, "
    "sum(resolution_sla_met)::numeric / nullif(sum(resolution_sla_measured), 0) AS resolution_sla"
)


def _hours(value) -> str:
    return "n/a" if value is None else f"{decimal2(value)} h"


def _ticket_line(row: dict) -> str:
    return (
        f"created {count(row['created'])}, first responses {count(row['first_responses'])}, "
        f"resolved {count(row['resolved'])}, average first response {_hours(row['first_response_hours'])}, "
        f"average resolution {_hours(row['resolution_hours'])}, first-response SLA met "
        f"{percent(row['first_response_sla'])}, resolution SLA met {percent(row['resolution_sla'])}"
    )


def ticket_context(cur, source: str) -> tuple[dict[str, str], dict[str, list]]:
    """The ticket support prompt's context for one ticket source, and the mart rows used."""
    cur.execute("SELECT max(date_day) FROM analytics.tickets_daily WHERE source = %s AND breakdown = 'all'", (source,))
    end = cur.fetchone()[0]
    cur.execute("SELECT max(_loaded_at) FROM raw.tickets WHERE source = %s", (source,))
    refreshed = cur.fetchone()[0]
    sections = {"ticket_overview": NO_DATA, "by_priority": NO_DATA, "by_channel": NO_DATA, "by_category": NO_DATA}
    row_keys: dict[str, list] = {"analytics.tickets_daily": []}
    start = None
    if end is not None:
        start = end - timedelta(days=WINDOW_DAYS - 1)
        previous_start, previous_end = start - timedelta(days=WINDOW_DAYS), start - timedelta(days=1)
        current = _rows(
            cur,
            f"SELECT breakdown, breakdown_value, {TICKET_SUMS} FROM analytics.tickets_daily "
            "WHERE source = %s AND date_day BETWEEN %s AND %s GROUP BY breakdown, breakdown_value "
            "ORDER BY breakdown, breakdown_value",
            (source, start, end),
        )
        previous = _rows(
            cur,
            f"SELECT {TICKET_SUMS} FROM analytics.tickets_daily "
            "WHERE source = %s AND breakdown = 'all' AND date_day BETWEEN %s AND %s",
            (source, previous_start, previous_end),
        )
        cur.execute(
            "SELECT open_backlog_at_end FROM analytics.tickets_daily "
            "WHERE source = %s AND breakdown = 'all' AND date_day = %s",
            (source, end),
        )
        backlog = cur.fetchone()
        totals = next((row for row in current if row["breakdown"] == "all"), None)
        before = previous[0] if previous else None
        if totals is not None:
            lines = [f"Last {WINDOW_DAYS} days ({day(start)} to {day(end)}): " + _ticket_line(totals)]
            if before is not None and (before["created"] is not None or before["resolved"]):
                lines.append(
                    f"The {WINDOW_DAYS} days before ({day(previous_start)} to {day(previous_end)}): "
                    + _ticket_line(before)
                )
                lines.append(
                    f"Change: created {change(totals['created'], before['created'])}, resolved "
                    f"{change(totals['resolved'], before['resolved'])}"
                )
            lines.append(f"Open backlog at the end of {day(end)}: {count(backlog[0] if backlog else None)}")
            sections["ticket_overview"] = "\n".join(lines)
        for breakdown, section in (("priority", "by_priority"), ("channel", "by_channel"), ("category", "by_category")):
            lines = [
                f"- {row['breakdown_value']}: " + _ticket_line(row) for row in current if row["breakdown"] == breakdown
            ]
            if lines:
                sections[section] = "\n".join(lines)
        row_keys["analytics.tickets_daily"] = [
            {
                "source": source,
                "from": day(previous_start),
                "to": day(end),
                "breakdowns": sorted({row["breakdown"] for row in current}),
            }
        ]
    context = {
        "ticket_source": source,
        **sections,
        "correction_rules": NO_RULES,
        "last_refreshed_at": instant(refreshed),
        "data_start_date": day(start),
        "data_end_date": day(end),
        "available_metrics": TICKET_METRICS,
        "available_entities": (
            f"the tickets of source {source} over the last {WINDOW_DAYS} days and the {WINDOW_DAYS} days before, "
            "in total and by priority, channel and category"
        ),
    }
    return context, row_keys


def context_for(cur, subject: Subject) -> tuple[str, dict[str, str], dict[str, list]]:
    """(template slug, context, row keys) for `subject`."""
    if subject.kind == "ticket_source":
        assert subject.source is not None
        return (TICKET_TEMPLATE, *ticket_context(cur, subject.source))
    assert subject.platform is not None and subject.account_id is not None
    return (ACCOUNT_TEMPLATE, *account_context(cur, subject.platform, subject.account_id))
