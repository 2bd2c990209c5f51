"""Reading a whole question into an Intent, or declining with what was not understood. No I/O.

Every recognizer claims the characters it read; after all of them ran, any word left that is not
filler ("what", "was", "the", …) means the question said something we did not understand, and
`understand` raises NotUnderstood naming it. That is the first rule of the answerer: a filter,
period or shape is applied or the question is declined, never dropped.
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from collections import defaultdict
from dataclasses import dataclass, field, replace
from datetime import date
from decimal import Decimal

from ask.periods import NUMBER_RE, WORD_NUMBERS, FoundPeriod, Period, PeriodError, find_periods


class NotUnderstood(ValueError):
    def __init__(self, message: str, route: str = "not_understood"):
        super().__init__(message)
        self.route = route


@dataclass(frozen=True)
class Metric:
    name: str  # column in the marts
    label: str
    kind: str  # money | count | ratio | multiple
    numerator: str | None = None  # ratios are re-derived from sums, never averaged
    denominator: str | None = None

    @property
    def uses_conversions(self) -> bool:
        """Conversions keep arriving inside the conversion window: these figures are provisional."""
        return "conversion" in f"{self.name} {self.numerator} {self.denominator}"


ADDITIVE = ["impressions", "clicks", "cost", "conversions", "conversion_value"]
METRICS = {
    m.name: m
    for m in [
        Metric("cost", "spend", "money"),
        Metric("impressions", "impressions", "count"),
        Metric("clicks", "clicks", "count"),
        Metric("conversions", "conversions", "count"),
        Metric("conversion_value", "conversion value", "money"),
        Metric("ctr", "CTR", "ratio", "clicks", "impressions"),
        Metric("cpc", "CPC", "money", "cost", "clicks"),
        Metric("cpa", "CPA", "money", "cost", "conversions"),
        Metric("roas", "ROAS", "multiple", "conversion_value", "cost"),
        Metric("cvr", "conversion rate", "ratio", "conversions", "clicks"),
        Metric("cpm", "CPM", "money", "cost", "impressions"),
    ]
}
# Most specific first: "conversion value" must win over "conversions", "cost per click" over "cost".
METRIC_PATTERNS: list[tuple[str, str]] = [
    (
        r"\bconversions?[ _]values?\b|\bconv\.? values?\b|\bvalues? of (?:the |our |all |those )?conversions\b"
        r"|\brevenue\b|\bsales(?: amount)?\b",
        "conversion_value",
    ),
    (r"\broas\b|\breturn on (?:ad )?spend\b", "roas"),
    (r"\bcpa\b|\b(?:cost|spend) per (?:acquisition|conversion|lead)\b|\bcost per action\b", "cpa"),
    (r"\bcpc\b|\b(?:cost|spend) per click\b", "cpc"),
    (r"\bcpm\b|\bcost per (?:thousand|mille|1,?000) impressions\b", "cpm"),
    (r"\bctr\b|\bclick[- ]?through(?: rate)?\b", "ctr"),
    (r"\bconversion rate\b|\bcvr\b|\bconv\.? rate\b", "cvr"),
    (
        r"\bad spend\b|\bspend(?:ing)?\b|\bspent\b|\bcosts?\b|\bamount spent\b|\bhow much (?:money )?did (?:we|i|they) (?:pay|spend)\b",
        "cost",
    ),
    (r"\bimpressions?\b|\bimpr\.?\b|\bdisplays\b|\bviews\b", "impressions"),
    (r"\bclicks?\b|\bclicked\b", "clicks"),
    (r"\bconversions?\b|\bconverted\b|\bleads\b|\bpurchases\b", "conversions"),
]
METRIC_ALIASES = {"leads": "conversions"}
LOWER_IS_BETTER = {"cpc", "cpa", "cpm"}  # costs per result: the best is the lowest

# Ticket measures: (name, pattern). Counts and times over analytics.int_tickets__ticket_times.
TICKET_MEASURES: list[tuple[str, str]] = [
    (
        "first_response_hours",
        r"\b(?:first[- ]response|time to first response|response) times?\b|\btime to (?:first )?respond\b|\bhow (?:long|fast|quickly) (?:did |do |does |it took to |to )?(?:we |it )?(?:take to )?(?:first )?respond\b",
    ),
    (
        "resolution_hours",
        r"\b(?:resolution|resolve|close|closing) times?\b|\btime to (?:resolve|resolution|close)\b|\bhow (?:long|fast|quickly) (?:did |do |does |it took to |to )?(?:we |it )?(?:take to )?(?:resolve|close|fix)\b",
    ),
    (
        "sla",
        r"\bsla(?:s)?(?: (?:share|compliance|attainment|rate|target|targets|breaches|breached|met))?\b|\bwithin (?:the )?(?:sla|target)\b|\bmet (?:the |their )?(?:sla|target)s?\b",
    ),
    (
        "backlog",
        r"\b(?:(?:open|unresolved|outstanding|current)\s+)?backlog\b|\bopen tickets\b|\bunresolved tickets\b|\btickets (?:still )?(?:open|unresolved|outstanding)\b|\boutstanding tickets\b",
    ),
    (
        "resolved",
        r"\btickets? (?:were |got |was |been )?(?:resolved|solved|closed|fixed)\b|\b(?:resolved|solved|closed) tickets\b|\bresolved\b|\bsolved\b",
    ),
    (
        "created",
        r"\b(?:new|incoming|created|opened|submitted|received) tickets\b|\btickets? (?:were |was |got |been )?(?:created|opened|submitted|received|filed|raised|came in|come in|arrived|logged)\b|\btickets\b|\bticket count\b|\bsupport (?:load|volume|tickets?(?: (?:were |was |got |been )?(?:created|opened|submitted|received|filed|raised|logged))?)\b|\bticket volume\b|\bticket\b",
    ),
]
TICKET_WORDS = r"\btickets?\b|\bsupport\b|\bbacklog\b|\bsla\b|\bfirst[- ]response\b|\b(?:resolution|response) times?\b|\bhelp ?desk\b"
STATS = [
    ("median", r"\bmedian\b|\bp50\b|\b50th percentile\b"),
    ("p90", r"\bp90\b|\b90th percentile\b|\b90(?:th)?%? percentile\b"),
    ("avg", r"\baverage\b|\bavg\b|\bmean\b"),
]

GROUPINGS = {
    "campaign": r"campaigns?",
    "ad_group": r"ad ?groups?|ad ?sets?",
    "ad": r"ads?|creatives?",
    "account": r"(?:ad )?accounts?",
    "platform": r"platforms?|channels? \(platform\)|networks?",
    "day": r"days?|date|daily",
    "week": r"weeks?|weekly",
    "month": r"months?|monthly",
    "priority": r"priorit(?:y|ies)",
    "status": r"status(?:es)?",
    "channel": r"channels?",
    "category": r"categor(?:y|ies)|types?|ticket types?",
    "source": r"sources?|ticket sources?",
    "resolution": r"resolutions?",
}
TICKET_GROUPINGS = {"priority", "status", "channel", "category", "source", "resolution", "day", "week", "month"}
AD_GROUPINGS = {"campaign", "ad_group", "ad", "account", "platform", "day", "week", "month"}
TIME_GROUPINGS = {"day", "week", "month"}
KIND_WORDS = {
    "campaign": r"campaigns?",
    "ad_group": r"ad ?groups?|ad ?sets?",
    "ad": r"ads?|creatives?",
    "account": r"(?:ad )?accounts?",
}
KIND_LABELS = {"campaign": "campaign", "ad_group": "ad group", "ad": "ad", "account": "account"}

PLATFORM_WORDS = {
    "google_ads": r"google ads|google adwords|adwords|google",
    "meta": r"facebook ads|facebook|meta ads|meta|instagram|fb",
    "microsoft_ads": r"microsoft ads|bing ads|bing",
    "linkedin_ads": r"linkedin ads|linkedin",
    "tiktok_ads": r"tiktok ads|tiktok",
}
PLATFORM_LABELS = {"google_ads": "Google Ads", "meta": "Meta", "microsoft_ads": "Microsoft Ads"}

FILLER = {
    "a",
    "an",
    "the",
    "of",
    "for",
    "in",
    "on",
    "at",
    "to",
    "by",
    "from",
    "with",
    "and",
    "or",
    "over",
    "during",
    "across",
    "within",
    "between",
    "per",
    "each",
    "every",
    "all",
    "any",
    "our",
    "my",
    "we",
    "i",
    "us",
    "you",
    "your",
    "their",
    "they",
    "it",
    "its",
    "this",
    "that",
    "these",
    "those",
    "there",
    "here",
    "me",
    "please",
    "tell",
    "show",
    "give",
    "get",
    "got",
    "let",
    "list",
    "what",
    "what's",
    "whats",
    "which",
    "who",
    "whom",
    "how",
    "much",
    "many",
    "was",
    "were",
    "is",
    "are",
    "be",
    "been",
    "being",
    "did",
    "do",
    "does",
    "done",
    "had",
    "has",
    "have",
    "total",
    "overall",
    "sum",
    "combined",
    "altogether",
    "whole",
    "entire",
    "number",
    "amount",
    "count",
    "figure",
    "figures",
    "about",
    "around",
    "roughly",
    "exactly",
    "until",
    "till",
    "through",
    "thru",
    "as",
    "versus",
    "vs",
    "vs.",
    "compared",
    "compare",
    "comparison",
    "than",
    "then",
    "when",
    "where",
    "why",
    "did?",
    "data",
    "numbers",
    "stats",
    "statistics",
    "metrics",
    "metric",
    "report",
    "can",
    "could",
    "would",
    "should",
    "spent",
    "made",
    "make",
    "gets",
    "generate",
    "generated",
    "generating",
    "drive",
    "drove",
    "driven",
    "bring",
    "brought",
    "see",
    "saw",
    "look",
    "looking",
    "like",
    "kind",
    "sort",
    "performance",
    "perform",
    "performed",
    "performing",
    "go",
    "went",
    "going",
    "come",
    "came",
    "happen",
    "happened",
    "breakdown",
    "broken",
    "split",
    "out",
    "level",
    "levels",
    "just",
    "only",
    "ok",
    "okay",
    "hey",
    "hi",
    "hello",
    "thanks",
    "thank",
    "'s",
    "’s",
    "'",
    '"',
    "?",
    ".",
    ",",
    "!",
    ":",
    ";",
    "yes",
    "and/or",
    "along",
    "together",
    "both",
    "either",
    "also",
    "too",
    "still",
    "google",
    "via",
    "meta",
    "facebook",
    "platform",
    "platforms",
    "channel",
    "channels",
    "may",
}
REFUSE_RE = (
    r"\b(?:delete|drop|truncate|update|insert|alter|grant|revoke|remove|erase|wipe|reset|modify|change|set|rename|"
    r"create|pause|enable|disable|increase|decrease|raise|lower|edit|overwrite)\b(?!.*\b(?:change|changed)\b)"
)
SQL_RE = r"\bselect\b.+\bfrom\b|;|--|/\*|\bunion\b|\bwhere\b\s+\w+\s*=|\bjoin\b.+\bon\b"


@dataclass(frozen=True)
class Named:
    """Something in the scope a question can name: an account, campaign, ad group or ad."""

    kind: str  # account | campaign | ad_group | ad
    name: str
    platform: str
    account_id: str
    id: str
    parent: str = ""  # where it sits (the campaign of an ad group, ...), for "which one?"
    parent_id: str = ""  # the campaign id of an ad group, the ad group id of an ad

    def to_json(self) -> dict:
        return {
            "kind": self.kind,
            "name": self.name,
            "platform": self.platform,
            "account_id": self.account_id,
            "id": self.id,
        }

    @classmethod
    def from_json(cls, data: dict) -> Named:
        return cls(data["kind"], data["name"], data["platform"], data["account_id"], data["id"])


@dataclass(frozen=True)
class Catalog:
    """Names in the scope, and the ticket vocabulary (field -> {lower value: (column, stored value)})."""

    named: tuple[Named, ...] = ()
    platforms: tuple[str, ...] = ()
    ticket_values: dict = field(default_factory=dict)
    ticket_sources: tuple[str, ...] = ()


@dataclass
class Intent:
    domain: str = "ads"  # ads | tickets | both
    metrics: list[str] = field(default_factory=list)  # ad metric names
    ticket_measure: str | None = None  # created | resolved | backlog | first_response_hours | resolution_hours | sla
    stat: str | None = None  # avg | median | p90 for ticket times
    entities: list[Named] = field(default_factory=list)
    platforms: list[str] = field(default_factory=list)
    ticket_filters: list[tuple[str, str, str]] = field(default_factory=list)  # (field, column, value)
    # A share's whole, when it is a filtered group: "share of Email tickets that are urgent" -> Email
    share_within: list[tuple[str, str, str]] = field(default_factory=list)
    periods: list[Period] = field(default_factory=list)
    all_time: bool = False
    shape: str = (
        "total"  # total | average | count_days | breakdown | top | compare | trend | share | join_ratio | join_trend
    )
    group_by: str | None = None
    top_n: int | None = None
    order: str = "desc"
    average_unit: str | None = None  # day | week | month
    condition: tuple[str, str, float] | None = None  # (metric, op, threshold)
    search_text: str | None = None  # tickets matching this text (semantic search)
    notes: list[str] = field(default_factory=list)
    pending: list[list[Named]] = field(default_factory=list)  # names read, before ambiguity is settled

    def to_json(self) -> dict:
        return {
            "domain": self.domain,
            "metrics": self.metrics,
            "ticket_measure": self.ticket_measure,
            "stat": self.stat,
            "entities": [e.to_json() for e in self.entities],
            "platforms": self.platforms,
            "ticket_filters": [list(f) for f in self.ticket_filters],
            "share_within": [list(f) for f in self.share_within],
            "periods": [p.to_json() for p in self.periods],
            "all_time": self.all_time,
            "shape": self.shape,
            "group_by": self.group_by,
            "top_n": self.top_n,
            "order": self.order,
            "average_unit": self.average_unit,
            "condition": list(self.condition) if self.condition else None,
            "search_text": self.search_text,
        }


class Reader:
    """The question in lower case, with the characters recognizers have claimed blanked out."""

    def __init__(self, text: str):
        self.original = text
        self.text = text

    def claim(self, span: tuple[int, int]) -> None:
        start, end = span
        self.text = self.text[:start] + " " * (end - start) + self.text[end:]

    def find(self, pattern: str) -> re.Match | None:
        return re.search(pattern, self.text)

    def take(self, pattern: str) -> re.Match | None:
        match = re.search(pattern, self.text)
        if match:
            self.claim(match.span())
        return match

    def take_all(self, pattern: str) -> list[re.Match]:
        matches = list(re.finditer(pattern, self.text))
        for match in matches:
            self.claim(match.span())
        return matches

    def leftover_words(self) -> list[str]:
        words = re.findall(r"[^\s]+", self.text)
        cleaned = [w.strip("?.,!:;()\"'“”‘’") for w in words]
        # "%" is never punctuation to skip: "what % of spend", "CTR over 1%" must be read or declined.
        return [w for w in cleaned if w and w not in FILLER and (not re.fullmatch(r"[\W_]+", w) or "%" in w)]


def normalize(question: str) -> str:
    text = unicodedata.normalize("NFKC", question)
    text = text.replace("“", '"').replace("”", '"').replace("‘", "'").replace("’", "'")
    return re.sub(r"\s+", " ", text).strip()


def _number(raw: str) -> int:
    return int(raw) if raw.isdigit() else WORD_NUMBERS[raw]


def understand(question: str, catalog: Catalog, today: date, previous: dict | None = None) -> Intent:
    text = normalize(question)
    lower = text.lower()
    if re.search(SQL_RE, lower):
        raise NotUnderstood(
            "That looks like SQL. I answer questions in words about your numbers, and never run queries typed into a question.",
            "refused",
        )
    unquoted = re.sub(r"\"[^\"]*\"|'[^']*'", " ", lower)  # quoted text is what to look for, not a command
    # Meta's "ad set" is an ad group, not a command to set something.
    if re.search(REFUSE_RE, re.sub(r"\bad ?sets?\b", "ad group", unquoted)) and not re.search(
        r"\b(?:how|what|did|was|were|which)\b", unquoted
    ):
        raise NotUnderstood("I can only read your numbers; I can't change data, campaigns or settings.", "refused")
    if re.search(
        r"\b(?:how many|number of|count of|count the)\s+(?:(?:active|different|distinct|unique|separate|live|running|our|my|the)\s+)*"
        r"(?:campaigns?|ad ?groups?|ad ?sets?|ads|creatives?|accounts?|platforms?|banners?|placements?|keywords?)\b"
        r"(?!\s+(?:tickets?|requests?)\b)",  # "how many account tickets": a ticket category
        unquoted,
    ):
        raise NotUnderstood(
            'I can\'t count campaigns, ads or accounts; ask for a number per campaign instead (e.g. "spend by campaign last month").',
            "unsupported_shape",
        )
    reader = Reader(lower)
    intent = Intent()

    _read_entities(reader, text, catalog, intent)
    _resolve_entities(intent)
    _read_platforms(reader, catalog, intent)
    ticket_domain = (
        bool(re.search(TICKET_WORDS, reader.text))
        or bool(catalog.ticket_sources and re.search(r"\bsupport\b", reader.text))
        or bool(previous and previous.get("domain") == "tickets")  # "what about critical ones?"
    )
    _read_condition(reader, intent)
    _read_metrics(reader, intent)
    if ticket_domain:
        _read_ticket_measure(reader, catalog, intent)
        if intent.ticket_measure and not intent.metrics:
            # "open tickets right now", "current backlog": a ticket's status is today's unless a
            # period says otherwise. (Spend "right now" stays unread: it is no period we know.)
            reader.take_all(
                r"\b(?:right now|now|currently|at the moment|at present|presently)\b"
                r"|\bcurrent\b(?!\s+(?:week|month|quarter|year)\b)"
            )
    _read_shape(reader, intent)
    _check_one_grouping(reader, intent)
    _read_periods(reader, today, intent)
    _read_entity_kind_words(reader)

    if intent.ticket_measure and intent.metrics:
        intent.domain = "both"
        _join_shape(intent)
    elif intent.ticket_measure:
        intent.domain = "tickets"
    if previous and _stands_alone(lower, intent):
        previous = None  # "What was total spend in June 2020?" mid-conversation is a new question
    if previous and re.search(r"\bboth\b", lower) and not intent.entities and not intent.platforms:
        # "and both?" after Google's then Meta's spend once answered Meta's again.
        raise NotUnderstood('Both of which? Name them ("spend on Google and Meta").', "unsupported_shape")
    if previous:
        whole = not intent.entities and not intent.platforms and bool(re.search(WHOLE_SCOPE_RE, lower))
        if whole:
            reader.take_all(WHOLE_SCOPE_RE)
        # "what about all channels?": the carried channel filter goes.
        widened = set()
        for field_name in ("priority", "status", "channel", "category", "source"):
            pattern = rf"\b(?:all|any|across(?:\s+all)?)\s+(?:the\s+)?(?:{GROUPINGS[field_name]})\b"
            if reader.take_all(pattern):
                widened.add(field_name)
        _carry_over(intent, previous, today, lower, whole_scope=whole, widened=widened)
    if "compare-auto" in intent.notes and re.search(MOVEMENT_FROM_RE.replace(r"\s*$", r"\s+"), lower):
        # "is spend up from May?": May is what it rose from, the other period is not named (once
        # May against April, the month before the one named).
        raise NotUnderstood(
            f'Up or down from {intent.periods[0].label} to when? Name both periods, e.g. "spend in June vs May".',
            "bad_period",
        )
    stray = [v for f, _, v in intent.ticket_filters if f == "source" and v not in catalog.ticket_sources]
    if stray:
        # A source carried from the conversation that this question's scope does not read: once
        # "0 urgent helpdesk tickets" under a request narrowed to Jira.
        raise NotUnderstood(
            f"The conversation was about {stray[0]} tickets, which this question does not read (it reads "
            f"{', '.join(catalog.ticket_sources) or 'no ticket source'}): ask again without the narrowing, or name a source.",
            "unknown_entity",
        )
    left = reader.leftover_words()
    if left and not intent.metrics and not intent.ticket_measure and not intent.entities:
        # Nothing asked that we know: the seed's fallback lists what there is (the caller adds it).
        raise NotUnderstood(f"I don't have information about {' '.join(left)!r}.", "unsupported_metric")
    if left:
        raise NotUnderstood(_not_understood_message(left, reader, catalog))
    _read_ticket_value_combinations(lower, intent)
    _check_ticket_question_is_one(lower, intent)
    if intent.shape == "compare" and re.search(COMPARED_WITH_THE_WHOLE_RE, lower):
        # "how does camp 3 CTR compare to the overall CTR in June" once compared camp 3's June with its May.
        raise NotUnderstood(
            'Comparing a part with the whole is two questions: ask for each, e.g. "CTR for camp 3 in June" and '
            '"CTR in June".',
            "unsupported_shape",
        )
    if (
        "average" in intent.notes
        and any(METRICS[m].numerator is not None for m in intent.metrics)
        and re.search(
            r"\b(?:across|per|over|of|among|for each)\s+(?:all\s+|the\s+|our\s+|my\s+)?"
            r"(?:campaigns|ad ?groups|ad ?sets|ads|accounts|platforms|days|weeks|months)\b",
            lower,
        )
    ):
        # "average CTR across campaigns" once gave the campaigns' CTR together (clicks over
        # impressions), not the mean of their CTRs, without saying which.
        raise NotUnderstood(
            "An average of a ratio across campaigns (or days) could mean the ratio of the totals or the mean of "
            'each one\'s ratio. Ask for the ratio ("CTR in May", the totals\') or for each ("CTR by campaign in May").',
            "unsupported_shape",
        )
    if intent.shape == "share" and re.search(
        r"\bas an?\s+(?:percent(?:age)?|share|fraction|proportion|ratio|%)\s+of\b", lower
    ):
        # "camp 3 spend as a percent of camp 1 spend" once gave each one's share of the account.
        raise NotUnderstood(
            'One total as a percent of another is two questions: ask for both ("spend for camp 3 and camp 1").',
            "unsupported_shape",
        )
    if intent.shape == "share" and re.search(SHARE_OF_ALL_RE, lower):
        intent.notes.append("share-of-all")  # "what % of total clicks came from ...": of every account read
    _check_consistency(intent)
    _read_share_within(lower, catalog, intent)
    if not intent.metrics and not intent.ticket_measure:
        raise NotUnderstood("", "unsupported_metric")
    if intent.ticket_filters and intent.domain == "ads":
        raise NotUnderstood("Ticket filters (priority, status, channel, category) apply to ticket questions only.")
    return intent


# --- entities ---------------------------------------------------------------------------------


def _read_entities(reader: Reader, text: str, catalog: Catalog, intent: Intent) -> None:
    by_name: dict[str, list[Named]] = {}
    for item in catalog.named:
        by_name.setdefault(item.name.lower().strip(), []).append(item)
        if item.kind == "account":
            by_name.setdefault(item.id.lower(), []).append(item)
            if item.platform == "meta" and re.fullmatch(r"\d+", item.id):  # Ads Manager writes act_<id>
                by_name.setdefault(f"act_{item.id}", []).append(item)
            if item.platform == "google_ads" and re.fullmatch(r"\d{10}", item.id):
                dashed = f"{item.id[:3]}-{item.id[3:6]}-{item.id[6:]}"
                by_name.setdefault(dashed, []).append(item)
    # Quoted names must exist.
    for match in list(re.finditer(r"\"([^\"]+)\"|(?:(?<=\s)|^)'([^']+)'(?=[\s?.,!]|$)", reader.text)):
        name = (match.group(1) or match.group(2)).strip()
        if re.search(
            r"\b(?:mention(?:s|ing|ed)?|about|regarding|like|similar to|related to)\s*$", reader.text[: match.start()]
        ):
            continue  # text to look for in tickets, not a name
        kind = _kind_near(reader.text, match.span())
        candidates = [n for n in by_name.get(name, []) if kind is None or n.kind == kind]
        if not candidates:
            raise NotUnderstood(_no_such_name(name, kind, catalog), "unknown_entity")
        _add_entity(intent, name, candidates, kind)
        reader.claim(match.span())
        _claim_kind_word(reader, match.span())
    # Unquoted names, longest first.
    for name in sorted(by_name, key=len, reverse=True):
        if len(name) < 2:
            continue
        pattern = r"(?<![\w])" + re.escape(name) + r"(?![\w])"
        for match in list(re.finditer(pattern, reader.text)):
            kind = _kind_near(reader.text, match.span())
            generic = re.fullmatch(r"[a-z]+", name) is not None and (name in FILLER or name in _VOCABULARY)
            if kind is None and (generic or _reads_as_something_else(name, by_name[name])):
                continue
            candidates = [n for n in by_name[name] if kind is None or n.kind == kind]
            if not candidates:
                continue
            _check_not_a_family(reader.text, match.span(), name, candidates, catalog)
            _add_entity(intent, name, candidates, kind)
            reader.claim(match.span())
            _claim_kind_word(reader, match.span())


PLURAL_KINDS = {"campaign": r"campaigns", "ad_group": r"ad ?groups|ad ?sets", "ad": r"ads|creatives"}


def _check_not_a_family(text: str, span: tuple[int, int], name: str, candidates: list[Named], catalog: Catalog) -> None:
    """ "Brand campaigns" where campaigns 'Brand', 'Brand - US' and 'Brand - UK' exist may mean all
    three: never silently the one named exactly (nor a sum by part of a name) — ask back."""
    for kind, plural in PLURAL_KINDS.items():
        if not re.match(rf"\s*(?:{plural})\b", text[span[1] :]) or not any(c.kind == kind for c in candidates):
            continue
        word = r"(?<![\w])" + re.escape(name) + r"(?![\w])"
        family = sorted(
            {
                n.name
                for n in catalog.named
                if n.kind == kind and n.name.lower() != name and re.search(word, n.name.lower())
            }
        )
        if family:
            shown = ", ".join(repr(f) for f in family[:5]) + (", ..." if len(family) > 5 else "")
            raise NotUnderstood(
                f"'{candidates[0].name} {KIND_LABELS[kind]}s' could mean the {KIND_LABELS[kind]} {candidates[0].name!r} alone or every "
                f"{KIND_LABELS[kind]} whose name contains it ({shown}); I can't add up {KIND_LABELS[kind]}s by part of a name. "
                f'Name one ("the {KIND_LABELS[kind]} {candidates[0].name}"), or ask per {KIND_LABELS[kind]}.',
                "ambiguous",
            )


_VOCABULARY = {
    "search",
    "display",
    "video",
    "brand",
    "high",
    "low",
    "normal",
    "urgent",
    "email",
    "phone",
    "chat",
    "open",
    "closed",
    "all",
    "total",
    "top",
    "best",
}


def _reads_as_something_else(name: str, candidates: list[Named]) -> bool:
    """A name that is also a number, a metric or a period ("30", "Sales", "Today") is a name only
    with its kind beside it ("the ad group Sales"): else "top 10 campaigns" or "sales today" would
    silently filter by it."""
    if all(c.kind == "account" and c.id.lower() in (name, name.replace("-", "")) for c in candidates):
        return False  # an account id, in any spelling
    if re.fullmatch(r"[\d\s.,:/%$€£-]+", name) or name in WORD_NUMBERS:
        return True
    if any(re.fullmatch(pattern, name) for pattern, _ in METRIC_PATTERNS):
        return True
    try:
        found = find_periods(name, date(2000, 1, 1))
    except PeriodError:
        return True
    return any(f.span == (0, len(name)) for f in found)


def _kind_near(text: str, span: tuple[int, int]) -> str | None:
    """'campaign X' / 'X campaign' / 'the ad group X': the kind the question gives the name."""
    before, after = text[: span[0]], text[span[1] :]
    for kind in ("ad_group", "campaign", "account", "ad"):
        words = KIND_WORDS[kind]
        if re.search(rf"(?:^|\s)(?:{words})(?: named| called)?\s*$", before) or re.match(rf"\s*(?:{words})\b", after):
            return kind
    return None


def _claim_kind_word(reader: Reader, span: tuple[int, int]) -> None:
    start, end = span
    before = reader.text[:start]
    for kind in ("ad_group", "campaign", "account", "ad"):
        match = re.search(rf"(?:{KIND_WORDS[kind]})(?: named| called)?\s*$", before)
        if match:
            reader.claim((match.start(), start))
            return
    match = re.match(rf"\s*(?:{'|'.join(KIND_WORDS.values())})\b", reader.text[end:])
    if match:
        reader.claim((end, end + match.end()))


def _add_entity(intent: Intent, name: str, candidates: list[Named], kind: str | None) -> None:
    intent.pending.append(candidates)


def _resolve_entities(intent: Intent) -> None:
    """Each name read becomes one entity; a name several things share is narrowed by the others
    the question names ("ad group High engagement in campaign camp 1"), else asked back."""
    settled = [c[0] for c in intent.pending if len({(n.platform, n.account_id, n.kind, n.id) for n in c}) == 1]
    for candidates in intent.pending:
        unique = list({(n.platform, n.account_id, n.kind, n.id): n for n in candidates}.values())
        if len(unique) > 1:
            narrowed = [
                c
                for c in unique
                if any(
                    (r.platform, r.account_id) == (c.platform, c.account_id)
                    and (r.kind == "account" or r.id == c.parent_id)
                    for r in settled
                    if r is not c
                )
            ]
            if len(narrowed) == 1:
                unique = narrowed
        _settle(intent, unique)
    intent.pending = []


def _settle(intent: Intent, candidates: list[Named]) -> None:
    kinds = {c.kind for c in candidates}
    if "account" in kinds and len({(c.platform, c.account_id) for c in candidates if c.kind == "account"}) == 1:
        # An account's name wins over an ad or campaign that repeats it; the answer says which was read.
        candidates = [c for c in candidates if c.kind == "account"]
        if len(kinds) > 1:
            intent.notes.append(f"{candidates[0].name}: the account")
        kinds = {"account"}
    if len(kinds) > 1:
        listed = " or ".join(sorted(f"the {KIND_LABELS[k]} {candidates[0].name!r}" for k in kinds))
        raise NotUnderstood(f"{candidates[0].name!r} names more than one thing: do you mean {listed}?", "ambiguous")
    unique = {(c.platform, c.account_id, c.id): c for c in candidates}
    if len(unique) > 1:
        where = "; ".join(sorted(f"{c.parent or c.account_id}" for c in unique.values()))
        label = KIND_LABELS[candidates[0].kind]
        raise NotUnderstood(
            f"There is more than one {label} called {candidates[0].name!r} ({len(unique)}: in {where}). "
            f"Which one do you mean? Name its account (account_id) or its campaign too.",
            "ambiguous",
        )
    entity = next(iter(unique.values()))
    if entity not in intent.entities:
        intent.entities.append(entity)


def _no_such_name(name: str, kind: str | None, catalog: Catalog) -> str:
    pool = [n for n in catalog.named if kind is None or n.kind == kind]
    label = KIND_LABELS.get(kind or "", "campaign, ad group, ad or account")
    close = difflib.get_close_matches(name.lower(), [n.name.lower() for n in pool], n=3, cutoff=0.6)
    names = sorted({n.name for n in pool if n.name.lower() in close})
    if names:
        return f"I couldn't find a {label} called {name!r}. Did you mean {' or '.join(repr(n) for n in names)}?"
    return f"I couldn't find a {label} called {name!r} in this workspace."


def _read_entity_kind_words(reader: Reader) -> None:
    """'all campaigns', 'across accounts': kind words that add nothing once entities are read."""
    reader.take_all(
        r"\b(?:across|for|in|over|on|from|of) (?:all )?(?:(?:our|my|the) )?(?:campaigns|accounts|ads|ad groups|platforms|ad campaigns|advertising|marketing|paid (?:media|search|ads))\b"
    )


# --- platforms ----------------------------------------------------------------------------------


def _read_platforms(reader: Reader, catalog: Catalog, intent: Intent) -> None:
    words = dict(PLATFORM_WORDS)
    for platform in catalog.platforms:
        words.setdefault(platform, re.escape(platform.replace("_", " ")) + "|" + re.escape(platform))
    for platform, pattern in sorted(words.items(), key=lambda kv: -len(kv[1])):
        match = reader.find(rf"\b(?:on |from |in |via |for )?(?:{pattern})(?: ads)?\b")
        if not match:
            continue
        if platform not in catalog.platforms:
            label = PLATFORM_LABELS.get(platform, platform)
            raise NotUnderstood(
                f"There are no {label} accounts in this workspace; it has {', '.join(catalog.platforms) or 'no ad accounts'}.",
                "unknown_entity",
            )
        reader.claim(match.span())
        if platform not in intent.platforms:
            intent.platforms.append(platform)


# --- metrics ------------------------------------------------------------------------------------


def _read_metrics(reader: Reader, intent: Intent) -> None:
    if reader.find(r"\b(?:how many|number of|count of)\s+(?:\w+\s+)?sales\b"):
        # "Sales" is revenue to this reader; counted, it means conversions. Which one is not ours to guess.
        raise NotUnderstood(
            '"How many sales" could be conversions (a count) or conversion value (revenue): ask for one of them.'
        )
    found: list[tuple[int, str]] = []
    spans: list[tuple[int, int, str]] = []
    for pattern, name in METRIC_PATTERNS:
        for match in reader.take_all(pattern):
            found.append((match.start(), name))
            spans.append((match.start(), match.end(), name))
    spans.sort()
    for (_, end, first), (start, _, second) in zip(spans, spans[1:], strict=False):
        # "revenue per click": a ratio we don't name is not two totals side by side.
        if re.fullmatch(r"\s*(?:per|/|for each|for every|divided by|over)\s*", reader.text[end:start]):
            raise NotUnderstood(
                f"I can't compute {METRICS[first].label} per {METRICS[second].label.rstrip('s')}. The ratios I know are "
                "CTR, CPC, CPA, CPM, ROAS and conversion rate.",
                "unsupported_shape",
            )
    for _, name in sorted(found):
        if name not in intent.metrics:
            intent.metrics.append(name)


def _read_condition(reader: Reader, intent: Intent) -> None:
    """'days with spend over 100', 'days with no clicks': only meaningful in a count of days."""
    if not reader.find(
        r"\bhow many days\b|\bnumber of days\b|\bon how many days\b|\bdays (?:did|had|with|where|when|that)\b|\bcount (?:of )?(?:the )?days\b"
    ):
        return
    ops = {
        "gt": r"(?:above|over|more than|greater than|higher than|exceed(?:ed|ing)?|>)",
        "ge": r"(?:at least|>=|or more)",
        "lt": r"(?:below|under|less than|lower than|<)",
        "le": r"(?:at most|<=|or less|no more than)",
    }
    metric_words = "|".join(p for p, _ in METRIC_PATTERNS)
    for op, op_pattern in ops.items():
        match = reader.find(
            rf"(?P<metric>{metric_words})\s+(?:was |were |is |of )?{op_pattern}\s+(?P<symbol>[$€£])?"
            r"(?P<value>\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?)(?!\w|[.,]\d)(?P<pct>\s*%|\s*percent\b)?"
        )
        if match:
            metric = next(name for pattern, name in METRIC_PATTERNS if re.fullmatch(pattern, match.group("metric")))
            value = float(match.group("value").replace(",", ""))
            if METRICS[metric].kind == "ratio":
                # "CTR over 1%" is 0.01; a bare "CTR over 1" could be 1% or 100%: asked back, never guessed.
                if not match.group("pct"):
                    raise NotUnderstood(
                        f'Say the {METRICS[metric].label} threshold as a percentage, e.g. "{METRICS[metric].label} over 2 percent".',
                        "unsupported_shape",
                    )
                value = float(Decimal(match.group("value").replace(",", "")) / 100)
            elif match.group("pct"):
                raise NotUnderstood(f"{METRICS[metric].label} is not a percentage.", "unsupported_shape")
            intent.condition = (metric, op, value)
            intent.metrics = [metric]
            if match.group("symbol"):
                # "$50 on Meta" for a euro account: checked against the accounts' currency by the answer
                intent.notes.append(f"threshold-symbol={match.group('symbol')}")
            reader.claim(match.span())
            break
    if intent.condition is None:
        match = reader.find(rf"\b(?:no|zero|0)\s+(?P<metric>{metric_words})")
        if match:
            metric = next(name for pattern, name in METRIC_PATTERNS if re.fullmatch(pattern, match.group("metric")))
            intent.condition = (metric, "eq", 0.0)
            intent.metrics = [metric]
            reader.claim(match.span())
    if intent.condition is None:
        raise NotUnderstood(
            'To count days, say the condition with a number, e.g. "how many days was spend over 100 last month?" '
            'or "days with no clicks".'
        )
    intent.shape = "count_days"
    reader.take_all(
        r"\bhow many days\b|\bnumber of days\b|\bon how many days\b|\bcount (?:of )?(?:the )?days\b|\bdid\b|\bhad\b|\bwith\b|\bwhere\b|\bthat\b"
    )
    for match in list(re.finditer(r"\bdays\b", reader.text)):
        if not re.search(rf"\b(?:{NUMBER_RE})\s+$", reader.text[: match.start()]):  # "the last 30 days" is a period
            reader.claim(match.span())


# --- tickets ------------------------------------------------------------------------------------


SEARCH_RE = (
    r"\b(?P<verb>mention(?:s|ing|ed)?|about|regarding|like|similar to|related to|complaining about)\s+"
    r"(?P<q>\"[^\"]+\"|'[^']+'|[^\s?.!,;]+(?:\s+(?!(?:last|this|in|on|from|since|during|over|yesterday|today|for|by|between|so|the\s+week)\b)[^\s?.!,;]+){0,7})"
)


def _read_ticket_search(reader: Reader, intent: Intent) -> None:
    """'how many tickets mention refunds last week', 'show tickets like "login fails"': semantic
    matching over ticket text (the answerer states the similarity threshold it used)."""
    match = re.search(SEARCH_RE, reader.text)
    if not match:
        return
    if match.group("verb") == "about" and re.search(r"\b(?:what|how)\s*$", reader.text[: match.start()]):
        return  # "what about high ones?" is a follow-up, not a text search
    text = match.group("q").strip("\"'").strip()
    if not text:
        return
    counting = re.search(r"\bhow many\b|\bnumber of\b|\bcount\b", reader.text)
    intent.ticket_measure = "mentions" if counting else "similar"
    intent.search_text = text
    reader.claim(match.span())
    reader.take_all(r"\b(?:show|list|find|give|me|any|how many|number of|count|that|which|were|was)\b")


def _read_ticket_measure(reader: Reader, catalog: Catalog, intent: Intent) -> None:
    _read_ticket_search(reader, intent)
    values: list[tuple[str, str, str, str]] = []  # (text, field, column, stored value)
    for field_name, mapping in catalog.ticket_values.items():
        for text_value, (column, stored) in mapping.items():
            values.append((text_value, field_name, column, stored))
    values.sort(key=lambda v: -len(v[0]))
    # "status Resolved", "priority is high": the field named before the value wins over a measure.
    for text_value, field_name, column, stored in values:
        pattern = rf"\b{field_name}\s+(?:of\s+|is\s+|=\s*|was\s+)?" + r"(?<![\w])" + re.escape(text_value) + r"(?![\w])"
        match = reader.find(pattern)
        if match:
            reader.claim(match.span())
            intent.ticket_filters.append((field_name, column, stored))
    # "open urgent tickets", "high priority tickets that are still open": the backlog, filtered — not
    # the status "open" (once: "0 tickets, status open" beside 2 urgent tickets unresolved).
    match = reader.find(
        r"\b(?:open|unresolved|outstanding)\b(?!\s+(?:a|an|new)\b)(?=(?:\s+[\w-]+){0,3}?\s+tickets?\b)"
        r"|\b(?:(?:are|were|is|that are)\s+)?still\s+(?:open|unresolved|outstanding)\b"
        r"|\b(?:are|were|is)\s+(?:open|unresolved|outstanding)\b"
    )
    if match and intent.ticket_measure is None:
        intent.ticket_measure = "backlog"
        reader.claim(match.span())
    for name, pattern in TICKET_MEASURES:
        match = reader.find(pattern)
        if match:
            if intent.ticket_measure is None:
                intent.ticket_measure = name
            elif name not in ("created",):  # "tickets mentioning X" counts created tickets; others are a second ask
                raise NotUnderstood(
                    "Ask about matching tickets or about a ticket measure, one at a time.", "unsupported_shape"
                )
            reader.claim(match.span())
            break
    # average / median / p90 of a time; "average daily tickets" is an average count, read as a shape.
    for stat, pattern in STATS:
        if intent.ticket_measure in ("first_response_hours", "resolution_hours") and reader.take(pattern):
            intent.stat = stat
            break
    # Values in the canonical vocabulary or the source's own: 'urgent', 'Blocker', 'email', 'Refund request'.
    for text_value, field_name, column, stored in values:
        pattern = (
            r"(?<![\w])" + re.escape(text_value) + r"(?![\w])" + rf"(?:\s+(?:{field_name}|tickets?|ones|requests?))?"
        )
        # "by account" is a grouping, not the category "account"
        match = next(
            (
                m
                for m in re.finditer(pattern, reader.text)
                if not re.search(r"\b(?:by|per|each|every)\s+$", reader.text[: m.start()])
                or re.match(r"\s*(?:tickets?|ones|requests?)\b", reader.original[m.start() + len(text_value) :])
            ),
            None,
        )
        if match:
            reader.claim(match.span())
            intent.ticket_filters.append((field_name, column, stored))
    if reader.find(r"\bhelp ?desk\b"):
        # "helpdesk tickets" where no source of this scope is called so: once every ticket (or,
        # narrowed to Jira, Jira's), as if the word were filler.
        raise NotUnderstood(
            "No ticket source called helpdesk is among the sources this question reads "
            f"({', '.join(catalog.ticket_sources) or 'none'}): name one of them, or leave the word out.",
            "unknown_entity",
        )
    reader.take_all(r"\b(?:tickets?|support|receive|received)\b")


# --- shapes -------------------------------------------------------------------------------------


def _read_shape(reader: Reader, intent: Intent) -> None:
    grouping_alternatives = "|".join(f"(?P<{k}>{v})" for k, v in GROUPINGS.items())
    # "list / rank / show all campaigns by clicks": every one, ordered by the metric
    match = reader.find(
        rf"\b(?:list|rank|show|sort|order|give me|all)\s+(?:me\s+)?(?:all\s+|the\s+|our\s+|my\s+|every\s+)*(?:{grouping_alternatives})(?:\s+(?:ranked|sorted|ordered))?\s+by\b"
    ) or reader.find(rf"\b(?:{grouping_alternatives})\s+(?:ranked|sorted|ordered)\s+by\b")
    if match:
        intent.shape = "breakdown"
        intent.group_by = next(k for k in GROUPINGS if match.groupdict().get(k))
        reader.claim(match.span())
        return
    # "week over week", "month over month": a trend, even when phrased as a change
    match = reader.find(r"\b(week over week|wow|month over month|mom)\b")
    if match:
        intent.shape = "trend"
        intent.group_by = "month" if match.group(1) in ("month over month", "mom") else "week"
        reader.claim(match.span())
        reader.take_all(r"\bhow (?:has|have|did|does|do)\b|\bchange[sd]?\b|\bgrow(?:th)?\b|\bwhat(?:'s| is| was)\b")
        return
    # top / bottom N
    match = reader.find(
        # "highest priority tickets" is a priority level (Jira's Highest), never a ranking of priorities
        rf"\b(?:(?P<dir>top|bottom|best|worst|highest|lowest|largest|smallest|biggest|most|least|fewest|leading)(?:[- ]performing)?)(?!\s+priorit(?:y|ies)\b)\s*(?P<n>{NUMBER_RE})?\s*(?:{grouping_alternatives})\b"
    ) or reader.find(
        rf"\b(?:(?:which|what)(?:'s|\s+is|\s+was|\s+were)?\s+)?(?:the\s+)?(?:{grouping_alternatives})\s+(?:that\s+|which\s+)?(?:had|has|got|gets|generated|drove|spent|brought|with|having|is|was)?\s*(?:the\s+)?(?P<dir>most|least|highest|lowest|fewest|best|worst|biggest|largest|smallest|top)\b"
    )
    if match:
        group = next(k for k in GROUPINGS if match.groupdict().get(k))
        if (
            group == "priority"
            and match.group("dir") in ("highest", "lowest")
            and match.start("dir") > match.start(group)
            and re.fullmatch(r"\s*(?:is\s+|=\s*|of\s+)?", reader.text[match.end(group) : match.start("dir")])
        ):
            match = None  # "tickets with priority Highest": Jira's level, not a ranking of priorities
    if match:
        groups = match.groupdict()
        group = next(k for k in GROUPINGS if groups.get(k))
        word = groups["dir"]
        n_raw = groups.get("n")
        intent.shape = "top"
        intent.group_by = group
        plural = match.group(group).endswith("s") and not match.group(group).endswith("ss")  # not "status"
        # "top campaigns by spend": a ranking, not the one campaign at the top (once only that one)
        intent.top_n = _number(n_raw) if n_raw else 5 if plural and word in ("top", "bottom") else 1
        if intent.top_n < 1:
            raise NotUnderstood(f"Top {intent.top_n}? Ask for at least one.", "unsupported_shape")
        intent.order = "asc" if word in ("bottom", "worst", "lowest", "smallest", "least", "fewest") else "desc"
        if word in ("best", "worst") and intent.metrics and intent.metrics[0] in LOWER_IS_BETTER:
            # "worst campaign by CPA" is the one with the highest CPA, not the lowest
            intent.order = "desc" if word == "worst" else "asc"
        if word in ("best", "worst") and not intent.metrics:
            intent.notes.append("best/worst")
        reader.claim(match.span())
        reader.take_all(r"\b(?:ranked |sorted |ordered )?by\b|\bin terms of\b|\bwith the\b|\bhad the\b|\bthe most\b")
        return
    # "did spend rise?", "did support load rise in the weeks spend rose?": a change over time
    # "is spend up?", "was CTR down?" too, but not "broken down by", "add up", "up to".
    movement = (
        r"\b(?:rise|rose|risen|rising|increase[ds]?|increasing|grow|grew|grown|growing|went up|go up|gone up|goes up|fall|fell|fallen|falling|drop(?:ped|s)?|decline[ds]?|declining|went down|go down|gone down|goes down)\b"
        r"|(?<!broken )(?<!break )(?<!drill )(?<!drilled )\bdown\b(?!\s+(?:by|into|to)\b)"
        r"|(?<!sum )(?<!add )(?<!adds )(?<!added )\bup\b(?!\s+(?:to|until|till)\b)"
    )
    if reader.find(movement):
        reader.take_all(movement)
        reader.take_all(r"\b(?:in the weeks|in weeks|the weeks|weeks when|when|while|as)\b")
        intent.shape = "compare"
        intent.notes.append("movement")
        return
    # compare two periods
    if reader.find(
        r"\bcompare[ds]?\b|\bvs\.?\b|\bversus\b|\bcompared (?:to|with)\b|\bchange(?:d)? (?:from|between|vs|versus)\b|\bdifference between\b|\bhow did .+ change\b"
    ):
        reader.take_all(
            r"\bcompare[ds]?\b|\bvs\.?\b|\bversus\b|\bcompared (?:to|with)\b|\bchange(?:d)?\b|\bdifference\b|\bhow did\b|\b(?:to|with|and|from|between)\b"
        )
        intent.shape = "compare"
        return
    # share of total
    if reader.find(
        r"\bshare\b|\bwhat (?:percent(?:age)?|proportion|fraction|portion|part)\b|\bwhat\s*%|(?<!\w)%\s*of\b|\bpercent(?:age)? of\b"
    ):
        if reader.find(
            r"\b(?:happened|occurred|fell|came|was spent|were spent|went|took place)\s+(?:in|during|on)\b"
            r"|\b(?:was|were)\s+(?:in|during|on)\b"  # "what % of camp 1 spend was in May / on Sep 1"
        ):
            # "what share of camp 1 spend happened in May": the part is a period, the whole all the
            # data; the answer would be May's part of camp 1 (a share of a different whole).
            raise NotUnderstood(
                "I can give a share of a total by name or grouping, not the part of a total that fell in a period: "
                'ask for the two totals (e.g. "camp 1 spend in May" and "camp 1 spend").',
                "unsupported_shape",
            )
        # the grouping first: "by week" once lost its "by" to the phrase below, and the week passed as filler
        match = reader.take(rf"\b(?:by|per|for each|each)\s+(?:{grouping_alternatives})\b")
        if match:
            intent.group_by = next(k for k in GROUPINGS if match.groupdict().get(k))
        reader.take_all(
            r"\bshare\b|\bpercent(?:age)?\b|\bproportion\b|\bfraction\b|\bportion\b|\bpart\b|%|\bof (?:the )?(?:total|all|overall)\b|\bcame from\b|\bwent to\b|\bgo(?:es)? to\b|\bwas\b|\bof\b|\bfrom\b|\bby\b"
        )
        intent.shape = "share"
        return
    # trend
    if reader.find(
        r"\btrend(?:s|ing|ed)?\b|\bover time\b|\b(?:week|month) over (?:week|month)\b|\bwow\b|\bmom\b|\bevolv(?:e|ed|ing)\b|\bdevelop(?:ed)?\b"
    ):
        match = reader.find(
            r"\b(weekly|monthly|daily|week over week|month over month|wow|mom|by week|by month|by day|per week|per month|per day)\b"
        )
        if match:
            word = match.group(1)
            intent.group_by = (
                "month" if "month" in word or word == "mom" else "day" if "day" in word or word == "daily" else "week"
            )
            reader.claim(match.span())
        reader.take_all(
            r"\btrend(?:s|ing|ed)?\b|\bover time\b|\bhow (?:has|have|did)\b|\bevolv(?:e|ed|ing)\b|\bdevelop(?:ed)?\b|\bwhat(?:'s| is| was)\b"
        )
        intent.shape = "trend"
        return
    # average per day / week / month
    match = reader.find(
        r"\b(?:average|avg|mean|typical)\s+(?P<u1>daily|weekly|monthly)\b|\b(?P<u2>daily|weekly|monthly)\s+(?:average|avg|mean)\b"
        r"|\b(?:average|avg|mean|typical)\b(?P<rest>.*?)\b(?:per|a|each)\s+(?P<u3>day|week|month)\b"
        r"|\b(?:on|in) (?:an? )?average (?P<u4>day|week|month)\b"
        # "how much do we spend a day?": a rate, not the total of the period
        r"|\b(?:a|an)\s+(?P<u5>day|week|month)\b(?!\s+(?:ago|before|earlier|later)\b)"
    )
    if match:
        unit = match.group("u1") or match.group("u2") or match.group("u3") or match.group("u4") or match.group("u5")
        unit = {"daily": "day", "weekly": "week", "monthly": "month"}.get(unit, unit)
        intent.shape = "average"
        intent.average_unit = unit
        if match.group("rest") is not None:
            rest_start = match.start("rest")
            reader.claim((match.start(), rest_start))
            reader.claim((match.end("rest"), match.end()))
        else:
            reader.claim(match.span())
        return
    # breakdown by X (also "daily spend", "spend per week")
    matches = list(
        re.finditer(
            rf"\b(?:broken down |split |grouped )?(?:by|per|for each|each|for every|every)\s+(?:{grouping_alternatives})\b",
            reader.text,
        )
    )
    if not matches:
        matches = list(re.finditer(r"\b(?P<day>daily)\b|\b(?P<week>weekly)\b|\b(?P<month>monthly)\b", reader.text))
    if matches:
        if len(matches) > 1:
            raise NotUnderstood(
                "I can break an answer down by one thing at a time (e.g. by campaign, or by week).", "unsupported_shape"
            )
        match = matches[0]
        intent.shape = "breakdown"
        intent.group_by = next(k for k in GROUPINGS if match.groupdict().get(k))
        reader.claim(match.span())
        return
    # "average CPC" is the ratio itself; "average" with an additive metric and no unit is ambiguous.
    match = reader.find(r"\b(?:average|avg|mean)\b")
    if match:
        reader.claim(match.span())
        intent.notes.append("average")


def _check_one_grouping(reader: Reader, intent: Intent) -> None:
    """'top 3 campaigns by spend per week', 'tickets by priority and channel': a second grouping is
    never dropped (its words would otherwise pass as filler)."""
    groupings = "|".join(GROUPINGS.values())
    second = reader.find(rf"\b(?:by|per|for each|each|for every|every)\s+(?:the\s+)?(?:{groupings})\b")
    if not second and intent.group_by:
        second = reader.find(rf"(?:,|&|\+|\band\b|\bplus\b)\s*(?:by\s+|per\s+)?(?:the\s+)?(?:{groupings})\b")
    if second:
        raise NotUnderstood(
            "I can break an answer down by one thing at a time (e.g. by campaign, or by week).", "unsupported_shape"
        )


def _join_shape(intent: Intent) -> None:
    if "movement" in intent.notes:
        intent.notes.remove("movement")
        intent.shape = "trend"
    if intent.shape in ("trend", "compare") or intent.group_by == "week":
        intent.shape = "join_trend"
        intent.group_by = "week"
    elif intent.shape == "total":
        intent.shape = "join_ratio"
    else:
        raise NotUnderstood(
            'I can relate ad numbers to tickets as a ratio ("spend per urgent ticket last month") or week by week '
            '("did tickets rise in the weeks spend rose?"), not in that shape.',
            "unsupported_shape",
        )


# --- periods ------------------------------------------------------------------------------------


def _read_periods(reader: Reader, today: date, intent: Intent) -> None:
    # "on the day of June 8": the date says it all
    reader.take_all(r"\bthe day of\b(?=\s+(?:\d|jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec))")
    try:
        found = find_periods(reader.text, today)
    except PeriodError as exc:
        raise NotUnderstood(str(exc), "bad_period") from exc
    relative: list[FoundPeriod] = []
    for item in found:
        phrase = reader.text[item.span[0] : item.span[1]]
        before = reader.text[: item.span[0]]
        open_ended = re.search(
            r"\b(?:until|till|til|up to|up until|through|thru|before|after|prior to|as of|as at|by|"
            r"around|approximately|circa)\s*$",  # not "about": "tell me about last week"
            before,
        )
        if (
            not open_ended
            and re.search(r"\bfrom\s*$", before)
            and not re.search(MOVEMENT_FROM_RE, reader.original[: item.span[0]])
        ):
            open_ended = re.search(r"\bfrom\s*$", before)  # "spend from May 15 (on)": no end named
        if (
            not open_ended
            and re.search(r"\bto\s*$", before)
            and not re.search(
                r"\b(?:compare[sd]?|compared|relative|vs|versus|from|between|go|went|move|moved)\b", before
            )
        ):
            open_ended = re.search(r"\bto\s*$", before)  # "spend to May 15": from when?
        asked = f"{open_ended.group(0).strip()} {phrase.strip()}" if open_ended else ""
        onward = re.match(r"\s*(?:\+|onwards?\b|and (?:after|later|beyond)\b)", reader.original[item.span[1] :])
        if not open_ended and onward:
            open_ended, asked = onward, f"{phrase.strip()}{onward.group(0)}"  # "spend May 15+": no end named
        if item.period is not None and open_ended:
            # "spend until May 15" (and "as of", "by", "from ... on", "around") once read as that one
            # day: an open-ended or approximate span is asked back.
            raise NotUnderstood(
                f'"{asked}" is open-ended or approximate: name the range, e.g. "from 2021-11-01 to 2021-11-15".',
                "bad_period",
            )
        reader.claim(item.span)
        if item.relative:
            relative.append(item)
        elif item.period is None:
            intent.all_time = True
        elif intent.periods and (intent.periods[-1].start, intent.periods[-1].end) == (
            item.period.start,
            item.period.end,
        ):
            # "last 30 days vs previous 30 days": both phrases read as the same days; the second
            # one means the days before. Any other repeat is not a comparison we can read.
            if not re.search(r"\b(?:previous|prior|preceding|before)\b", phrase):
                raise NotUnderstood(
                    f"The question names {intent.periods[-1].label} twice; name two different periods to compare.",
                    "bad_period",
                )
            intent.periods.append(intent.periods[-1].shifted("period"))
        else:
            intent.periods.append(_up_to_today(item.period, today))
            if re.search(r"\b(?:previous|prior|preceding)\b", phrase):
                intent.notes.append("previous-of-carried")  # "and the previous 30 days?" in a follow-up
            if item.period.note:
                intent.notes.append(f"{item.period.label}: {item.period.note}")
    for item in relative:
        assert item.relative is not None
        if not intent.periods:
            intent.notes.append(f"relative:{item.relative}")
            continue
        try:
            intent.periods.append(intent.periods[-1].shifted(item.relative))
        except PeriodError as exc:
            raise NotUnderstood(str(exc), "bad_period") from exc
        if intent.shape == "total":
            intent.shape = "compare"
    kinds = [e.kind for e in intent.entities]
    if (
        intent.shape == "compare"
        and "movement" not in intent.notes
        and len(intent.periods) < 2
        and any(kinds.count(k) > 1 for k in kinds)
    ):
        # "camp 1 vs camp 3 spend in May": the things compared are the names, over one period —
        # one figure each (never their sum against an invented earlier period).
        intent.shape = "total"
    if (
        intent.shape == "compare"
        and "movement" not in intent.notes
        and len(intent.periods) < 2
        and not relative
        and len(intent.metrics) > 1
    ):
        # "clicks vs impressions in May": the metrics are side by side, over one period (never
        # both against an earlier period nobody named).
        intent.shape = "total"
    if (
        intent.shape == "compare"
        and "movement" not in intent.notes
        and len(intent.periods) < 2
        and len(intent.platforms) > 1
    ):
        # "CTR on Facebook vs Google last month": the platforms are compared, over one period — one
        # figure each (never both platforms together against the month before).
        if intent.group_by not in (None, "platform"):
            raise NotUnderstood(
                "Compare platforms over one period, or two periods for the platforms together.", "unsupported_shape"
            )
        intent.shape, intent.group_by = "breakdown", "platform"
    if (
        intent.shape == "compare"
        and len(intent.periods) == 1
        and not any(n.startswith("relative:") for n in intent.notes)
    ):
        intent.periods.append(intent.periods[0].shifted("period"))
        intent.notes.append("compare-auto")  # "compare that with May" in a follow-up compares "that"
    for period in intent.periods:
        if period.start > today:
            raise NotUnderstood(
                f"{period.label} ({period.start:%b %-d, %Y}) is in the future: there is no data for it yet.",
                "future_period",
            )


def _check_ticket_question_is_one(lower: str, intent: Intent) -> None:
    """Readings a ticket count cannot give: two questions in one ("how many in total, and how many
    are critical": once only the second), and an average backlog (the backlog is the count open at
    the end of a day; once the end of the period's, with "average" dropped)."""
    if intent.domain != "tickets":
        return
    if len(re.findall(r"\bhow many\b", lower)) > 1 and intent.shape != "breakdown":
        raise NotUnderstood('Ask one thing at a time: each "how many" is its own question.', "unsupported_shape")
    if intent.ticket_measure == "backlog" and re.search(r"\b(?:average|avg|mean|median|typical)\b", lower):
        raise NotUnderstood(
            "The backlog is what was open at the end of a day; I don't average it. Ask for it on a day "
            '("backlog on May 31") or by day ("backlog by day last month").',
            "unsupported_shape",
        )


def _read_ticket_value_combinations(lower: str, intent: Intent) -> None:
    """Several values of one ticket field are each counted ("email vs chat tickets resolved
    yesterday", "how many critical and how many high"): once their union was compared with the day
    before, or summed. Values of different fields combine with "and" only ("critical or pending" once
    counted critical AND pending), and only one field may list several values."""
    if intent.domain != "tickets" or not intent.ticket_filters:
        return
    values: dict[str, int] = defaultdict(int)
    for field_name, _, _ in intent.ticket_filters:
        values[field_name] += 1
    if len(values) > 1 and re.search(r"\bor\b", lower):
        raise NotUnderstood(
            "I can count tickets that match every filter named (critical AND email), not one filter or another: "
            'ask for each ("critical tickets", "email tickets").',
            "unsupported_shape",
        )
    repeated = [name for name, count in values.items() if count > 1]
    if len(repeated) > 1:
        raise NotUnderstood(
            'Name several values of one field at a time ("critical and high email tickets"): pairs like '
            '"critical email and high chat tickets" are separate questions.',
            "unsupported_shape",
        )
    if (
        not repeated
        and intent.shape == "compare"
        and "compare-auto" in intent.notes
        and len(values) > 1
        and re.search(r"\b(?:vs\.?|versus|against)\b", lower)
    ):
        # "jira vs helpdesk tickets created on Sep 2": two filters of different fields compared,
        # once both together against the day before (0 vs 0).
        raise NotUnderstood(
            'Compare values of one field ("email vs chat tickets"), or one group over two periods '
            '("email tickets this week vs last week").',
            "unsupported_shape",
        )
    if not repeated or intent.group_by or intent.ticket_measure not in (None, "created", "resolved", "backlog"):
        return
    if intent.shape == "compare" and "compare-auto" not in intent.notes:
        raise NotUnderstood(
            f"Compare two periods or several {repeated[0]} values, one at a time: "
            f'"tickets resolved last month by {repeated[0]}" or "tickets resolved last month vs the month before".',
            "unsupported_shape",
        )
    if intent.shape == "total" and re.search(r"\bor\b", lower):
        return  # "email or chat tickets": the two together, as asked
    if intent.shape in ("total", "compare"):
        if "compare-auto" in intent.notes:
            intent.periods = intent.periods[:1]  # the values are compared, not the period with the one before
            intent.notes.remove("compare-auto")
        intent.shape, intent.group_by = "breakdown", repeated[0]


# Where a share names the group it is taken within: "share of <group> tickets", "of the <group>
# tickets, what share ...", "for <group>, what percentage ...", "<group> tickets: what % ...".
SHARE_GROUP_RES = (
    r"(?:\b(?:share|percent(?:age)?|proportion|fraction|portion|part)|%)\s+of\s+(?P<group>.+?)\s+tickets?\b",
    r"^\W*(?:of|for|among|amongst|in|within)\s+(?P<group>[^,:?]+?)\s*[,:]\s*(?:what|how|which)\b",
    r"^\W*(?P<group>[^,:?]+?)\s+tickets?\s*[,:]\s*(?:what|how|which)\b",
)


def _read_share_within(lower: str, catalog: Catalog, intent: Intent) -> None:
    """'What share of Email tickets are urgent' is a share within the Email tickets: the urgent
    Email tickets over the Email tickets, not over every ticket. The filters named in "share of
    <group> tickets" make the whole; the others pick the part. When every filter is in the group
    ("what share of high priority tickets were resolved": a resolution rate, another measure on
    each side), nothing is left to pick the part: asked back."""
    if intent.domain != "tickets" or intent.shape != "share" or intent.group_by or not intent.ticket_filters:
        return  # by a grouping, the shares are within the filtered tickets: right as asked
    if intent.share_within and len(intent.share_within) < len(intent.ticket_filters):
        return  # carried from the question this one follows
    group = next(
        (match.group("group") for pattern in SHARE_GROUP_RES if (match := re.search(pattern, lower))),
        "",
    )
    spellings: dict[tuple[str, str, str], list[str]] = defaultdict(list)
    for field_name, mapping in catalog.ticket_values.items():
        for text_value, (column, stored) in mapping.items():
            spellings[(field_name, column, stored)].append(text_value)
    within = [
        f
        for f in intent.ticket_filters
        if group
        and any(re.search(rf"(?<![\w]){re.escape(text)}(?![\w])", group) for text in spellings[(f[0], f[1], f[2])])
    ]
    if not within:
        if len({f[0] for f in intent.ticket_filters}) > 1:
            # "what share of tickets are critical for email": of every ticket, or of the email ones?
            # Once divided by every ticket whatever the wording.
            raise NotUnderstood(
                'A share of which tickets? Name the group first: "what share of email tickets are critical" '
                '(of the email tickets), or "what share of tickets are critical" (of every ticket).',
                "unsupported_shape",
            )
        return
    if len(within) == len(intent.ticket_filters):
        raise NotUnderstood(
            'A share within a group of tickets needs what to count in it: "what share of email tickets are '
            'urgent". For how many of them were resolved, ask for both counts ("email tickets created last '
            'month", "email tickets resolved last month").',
            "unsupported_shape",
        )
    intent.share_within = within


def _up_to_today(period: Period, today: date) -> Period:
    """A period that runs past today stops at today, and says so ("the week of May 18" asked on
    May 20 is May 18-20: the days after have no data yet, a sum over them would only look whole)."""
    if period.start > today or period.end <= today:
        return period
    return replace(period, end=today, label=f"{period.label} up to today")


# --- follow-ups ---------------------------------------------------------------------------------


# A message that continues the conversation: it starts like a follow-up ("and ...", "what about
# ...", "only ...", "by week") or points back at the last answer ("that", "those", "same").
FOLLOW_UP_START_RE = (
    r"^\W*(?:and|but|so|also|now|then|ok(?:ay)?|what about|how about|what of|same|only|just|vs\.?|versus|"
    r"compared?|by|per|for|in|on|over|during|at|excluding|except|without|with|the|top|bottom)\b"
)
BACK_REFERENCE_RE = r"\b(?:that|those|these|them|it|its|ones?|same|instead|too|as well|again|there)\b"
QUESTION_START_RE = (
    r"^\W*(?:what(?:'s|s)?|how|which|who|when|where|show|give|list|tell|was|were|did|do|does|is|are|"
    r"rank|count|total)\b"
)
# "what about all campaigns?", "total spend across all campaigns": the whole scope, not the campaign
# the conversation was about.
WHOLE_SCOPE_RE = (
    r"\b(?:across\s+|for\s+|over\s+|on\s+|of\s+)?(?:all\s+(?:the\s+|our\s+|my\s+)?(?:campaigns|ad ?groups|ad ?sets|ads|accounts)"
    r"|(?:the\s+)?(?:whole|entire)\s+account|account[- ]wide|overall|in total|altogether|combined|in all)\b"
)
EXPLICIT_TOTAL_RE = r"\b(?:total|overall|in total|altogether|combined|sum)\b"
# The words that ask for created tickets, beyond the bare "tickets" every ticket question has.
CREATED_WORDS_RE = r"\b(?:new|incoming|created|opened|submitted|received|filed|raised|came in|come in|arrived|logged|count|volume|load)\b"


def _stands_alone(lower: str, intent: Intent) -> bool:
    """A whole question asked mid-conversation ("What was total spend in June 2020?", "how many
    tickets were resolved on June 2?") is answered as asked: it once inherited the last answer's
    ranking, campaign or ticket filters against its own words. A question stands alone when it
    starts as a question, names what it measures and does not point back at the last answer."""
    if re.search(FOLLOW_UP_START_RE, lower) or re.search(BACK_REFERENCE_RE, lower):
        return False
    if not re.search(QUESTION_START_RE, lower):
        return False
    if intent.metrics:
        return True
    return bool(intent.ticket_measure) and bool(
        re.search(r"\btickets?\b|\bbacklog\b|\bsla\b|first[- ]response|resolution time", lower)
    )


def _carry_over(
    intent: Intent, previous: dict, today: date, lower: str, whole_scope: bool = False, widened: set[str] | None = None
) -> None:
    """A follow-up reuses what it omits: 'and the week before?', 'what about clicks?'."""
    prev_periods = [Period.from_json(p) for p in previous.get("periods") or []]
    relative = [n.split(":", 1)[1] for n in intent.notes if n.startswith("relative:")]
    intent.notes = [n for n in intent.notes if not n.startswith("relative:")]
    try:
        if relative and prev_periods:
            intent.periods = [prev_periods[-1].shifted(relative[0])]
        elif "previous-of-carried" in intent.notes and len(intent.periods) == 1 and prev_periods:
            # "spend last 30 days" -> "and the previous 30 days?": the 30 days before those (once the
            # same 30 days again, read as "the previous 30 days" before today).
            asked = intent.periods[0]
            intent.periods = [asked.before(prev_periods[0])]
            intent.notes = [n for n in intent.notes if not n.startswith(f"{asked.label}:")]  # read as before today
        elif (
            "compare-auto" in intent.notes
            and len(prev_periods) == 1
            and (prev_periods[0].start, prev_periods[0].end) != (intent.periods[0].start, intent.periods[0].end)
            and re.search(r"\b(?:that|it|this|those|these)\b", lower)
        ):
            # "clicks in June" -> "is that up from May?": June against May (once May against April).
            intent.periods = [prev_periods[0], intent.periods[0]]
            intent.notes.remove("compare-auto")
    except PeriodError as exc:
        raise NotUnderstood(str(exc), "bad_period") from exc
    if not intent.periods and not intent.all_time:
        intent.periods = prev_periods
        intent.all_time = bool(previous.get("all_time"))
    if (
        intent.ticket_measure == "created"
        and previous.get("ticket_measure") not in (None, "created")
        and not re.search(CREATED_WORDS_RE, lower)
    ):
        # "how many tickets were resolved?" -> "and for low priority tickets?": still resolved tickets
        # (the bare word "tickets" once turned it into a count of every low priority ticket).
        intent.ticket_measure = None
    if not intent.metrics and not intent.ticket_measure:
        intent.metrics = list(previous.get("metrics") or [])
        intent.ticket_measure = previous.get("ticket_measure")
        if intent.ticket_measure in ("mentions", "similar"):
            # "tickets about invoices" -> "and last week?": the same text (once an empty search, 0)
            intent.search_text = intent.search_text or previous.get("search_text")
        intent.stat = intent.stat or previous.get("stat")
        intent.domain = previous.get("domain", intent.domain)
    if intent.domain == "tickets" and previous.get("domain") == "tickets":
        # "helpdesk tickets last week" -> "what about urgent ones?": the urgent helpdesk tickets. A
        # filter replaces the previous one of its field only, never drops the others.
        # A field widened ("all channels") or grouped by ("and by channel?") drops its carried filter.
        named = {f[0] for f in intent.ticket_filters} | (widened or set()) | {intent.group_by}
        kept = [tuple(f) for f in previous.get("ticket_filters") or [] if f[0] not in named]
        intent.ticket_filters = kept + intent.ticket_filters
    if not intent.entities and not intent.platforms:
        carried = [Named.from_json(e) for e in previous.get("entities") or []]
        every_account = bool(re.search(r"\b(?:all|every|each of the)\s+(?:the\s+|our\s+|my\s+)?accounts\b", lower))
        if whole_scope:
            # "what about all campaigns?": the named account stays, its campaign goes; "all accounts": both go
            carried = [] if every_account else [e for e in carried if e.kind == "account"]
        intent.entities = carried
        intent.platforms = [] if whole_scope and every_account else list(previous.get("platforms") or [])
    # A shape the follow-up leaves out is carried; "and the total?" after a ranking asks for the total.
    shape_omitted = intent.shape == "total" and not re.search(EXPLICIT_TOTAL_RE, lower)
    if shape_omitted and previous.get("shape") in ("breakdown", "top", "average", "trend", "share"):
        # "share of spend by campaign in April" -> "and May?": the shares again (once May's total)
        intent.shape = previous["shape"]
        # The share's group keeps its field: "share of email tickets that are critical" -> "and for chat?"
        within_fields = {f[0] for f in previous.get("share_within") or []}
        intent.share_within = [f for f in intent.ticket_filters if f[0] in within_fields]
        intent.group_by = previous.get("group_by")
        intent.top_n = previous.get("top_n")
        intent.order = previous.get("order", "desc")
        intent.average_unit = previous.get("average_unit")
    elif shape_omitted and previous.get("shape") == "count_days" and previous.get("condition"):
        # "how many days was spend over 2000 in May" -> "and in April?": the same condition
        if not intent.metrics or intent.metrics == [previous["condition"][0]]:
            intent.shape = "count_days"
            name, op, threshold = previous["condition"]
            intent.condition = (name, op, float(threshold))
            intent.metrics = [name]
    elif shape_omitted and previous.get("shape") == "compare" and len(intent.periods) == 2:
        intent.shape = "compare"  # "spend in May vs April" -> "what about clicks?"
    elif (
        previous.get("shape") == "count_days"
        and previous.get("condition")
        and intent.shape != "total"
        and intent.metrics == [previous["condition"][0]]
    ):
        # "how many days was spend over 2000 in May" -> "by campaign": still a count of days (once
        # answered with May's spend by campaign), which _check_consistency declines.
        name, op, threshold = previous["condition"]
        intent.condition = (name, op, float(threshold))
        intent.metrics = [name]


# "is that up from May?", "how did it change from April": a comparison's other period, not a start.
MOVEMENT_FROM_RE = (
    r"\b(?:up|down|rise|rose|risen|fall|fell|fallen|grow|grew|grown|change|changed|increase|increased|decrease|"
    r"decreased|drop|dropped|jump|jumped|go|went|move|moved|compare|compared|different|differ|differs)\s+from\s*$"
)
COMPARED_WITH_THE_WHOLE_RE = (
    r"\b(?:compared?s?|compared)\s+(?:to|with|against)\s+(?:the\s+|our\s+)?(?:overall|total|average|whole|rest|all|account|sum|combined)\b"
    r"|\b(?:vs\.?|versus|against|with)\s+(?:the\s+|our\s+)?(?:overall|total|average|whole|rest|sum|combined)\b"
    r"|\b(?:overall|combined|as a whole|altogether)\b"
)
SHARE_OF_ALL_RE = r"\bof\s+(?:the\s+|our\s+)?(?:grand\s+)?(?:total|overall|all|everything|whole)\b"
# Notes the reading leaves for itself (never shown): how the question was put.
INTERNAL_NOTES = ("average", "best/worst", "movement", "previous-of-carried", "compare-auto")


def _check_consistency(intent: Intent) -> None:
    if intent.condition is not None and (intent.shape != "count_days" or intent.group_by or len(intent.periods) > 1):
        # "how many days had spend over 2000 by campaign / vs April / each month": a count of days
        # is one number over one period; the shape word once turned it into spend totals.
        raise NotUnderstood(
            "I can count the days that met a condition over one period, for what the question names "
            '(e.g. "how many days had spend over 2000 in May for camp 1"), not broken down, ranked or compared.',
            "unsupported_shape",
        )
    if intent.all_time and intent.periods:
        raise NotUnderstood(
            f"The question names all time and {intent.periods[0].label}: ask for one of them.", "unsupported_shape"
        )
    if any(n.startswith("relative:") for n in intent.notes):
        raise NotUnderstood(
            '"The week before" what? Name the period, e.g. "spend last week vs the week before".', "bad_period"
        )
    if len(intent.periods) > 2 or (len(intent.periods) == 2 and intent.shape not in ("compare", "join_trend")):
        raise NotUnderstood(
            'The question names more than one period. Ask for one period, or compare two ("spend last month vs the month before").',
            "unsupported_shape",
        )
    if intent.shape == "compare" and len(intent.periods) != 2:
        raise NotUnderstood(
            'To compare, name two periods, e.g. "spend last week vs the week before".', "unsupported_shape"
        )
    if "best/worst" in intent.notes:
        raise NotUnderstood(
            '"Best" by which number? Say e.g. "top 3 campaigns by conversions" or "by ROAS".', "unsupported_shape"
        )
    if intent.domain == "ads" and intent.group_by in TICKET_GROUPINGS - TIME_GROUPINGS:
        raise NotUnderstood(f"Ad numbers can't be broken down by ticket {intent.group_by}.", "unsupported_shape")
    if intent.domain == "tickets" and intent.group_by in AD_GROUPINGS - TIME_GROUPINGS:
        raise NotUnderstood(
            f"Tickets can't be broken down by {KIND_LABELS.get(intent.group_by or '', intent.group_by)}.",
            "unsupported_shape",
        )
    if intent.domain == "tickets" and intent.entities:
        raise NotUnderstood(
            "Tickets aren't linked to campaigns or accounts; ask about tickets on their own or about spend.",
            "unsupported_shape",
        )
    if len(intent.metrics) > 1 and intent.shape not in ("total", "compare", "breakdown"):
        raise NotUnderstood(
            "Ask for one metric at a time in a breakdown, ranking, average, trend or share.", "unsupported_shape"
        )
    if (
        intent.shape == "share"
        and intent.domain == "ads"
        and not intent.entities
        and not intent.group_by
        and len(intent.platforms) == 0
    ):
        raise NotUnderstood(
            'Share of what? Name a campaign, ad group, ad or platform, or say "by campaign".', "unsupported_shape"
        )
    if "average" in intent.notes and intent.domain == "ads":
        additive = [m for m in intent.metrics if METRICS[m].numerator is None]
        if additive:
            raise NotUnderstood(
                f'Average {METRICS[additive[0]].label} per what? Say "average daily {METRICS[additive[0]].label}" or "per week".',
                "unsupported_shape",
            )
    intent.notes = [n for n in intent.notes if n not in INTERNAL_NOTES]


def _not_understood_message(left: list[str], reader: Reader, catalog: Catalog) -> str:
    phrase = " ".join(left)
    names = [n.name for n in catalog.named if n.kind != "account"]
    close = difflib.get_close_matches(phrase, [n.lower() for n in names], n=3, cutoff=0.6)
    if not close:
        for word in left:
            close += difflib.get_close_matches(word, [n.lower() for n in names], n=2, cutoff=0.75)
    hint = ""
    if close:
        originals = sorted({n for n in names if n.lower() in close})
        hint = f" Did you mean {' or '.join(repr(n) for n in originals[:3])}?"
    return f"I didn't understand {phrase!r} in your question, so I won't guess.{hint}"


__all__ = [
    "ADDITIVE",
    "METRICS",
    "Catalog",
    "Intent",
    "Metric",
    "Named",
    "NotUnderstood",
    "understand",
]
