"""Platform-neutral ids: one spelling of an ad account's id wherever it enters Burry.

Google Ads shows a customer id as 123-456-7890 in its UI and exports and as 1234567890 in its
API; Meta as act_1234567890 in its API and 1234567890 in Ads Manager exports. Sources, file
imports, the CLI and the ask service all pass ids through `normalize_account_id`, so a user may
type either form and every table holds one.
"""

from __future__ import annotations

import re

GOOGLE_ADS = "google_ads"
META = "meta"
PLATFORMS = (GOOGLE_ADS, META)


def normalize_account_id(platform: str, account_id: str) -> str:
    """The id as Burry stores it: Google Ads without dashes or spaces, Meta without `act_`."""
    text = account_id.strip()
    if platform == GOOGLE_ADS and re.fullmatch(r"[\d\s-]+", text):
        return re.sub(r"[\s-]", "", text)
    if platform == META and text.lower().startswith("act_"):
        return text[4:]
    return text


# One Dagster partition per registered account, keyed "<platform>:<account id>".
def account_partition_key(platform: str, account_id: str) -> str:
    return f"{platform}:{account_id}"


def split_partition_key(key: str) -> tuple[str, str]:
    platform, _, account_id = key.partition(":")
    if not account_id:
        raise ValueError(f"ad account partition {key!r} is not '<platform>:<account id>'")
    return platform, account_id
