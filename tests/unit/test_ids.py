import pytest

from resources.ids import account_partition_key, normalize_account_id, split_partition_key


@pytest.mark.parametrize(
    ("platform", "typed", "stored"),
    [
        ("google_ads", "123-456-7890", "1234567890"),
        ("google_ads", " 123 456 7890 ", "1234567890"),
        ("google_ads", "1234567890", "1234567890"),
        ("google_ads", "camp 1 / x", "camp 1 / x"),  # not a customer id: left alone
        ("meta", "act_987654", "987654"),
        ("meta", "987654", "987654"),
        ("online_ads", " acct-1 ", "acct-1"),
    ],
)
def test_every_spelling_of_an_account_id_is_stored_one_way(platform, typed, stored):
    assert normalize_account_id(platform, typed) == stored


def test_partition_keys_round_trip_and_reject_a_key_without_account():
    assert split_partition_key(account_partition_key("google_ads", "1234567890")) == ("google_ads", "1234567890")
    with pytest.raises(ValueError, match="platform>:<account id"):
        split_partition_key("google_ads")
