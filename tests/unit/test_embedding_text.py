"""What gets embedded: ticket and ad texts, markup and signatures stripped, subject first, hashed."""

from __future__ import annotations

from resources.embeddings.providers import EmbedderConfig, length_order
from resources.embeddings.text import MAX_CHARS, ad_text, clean, text_hash, ticket_text


def test_markup_quotes_and_signatures_are_stripped_and_whitespace_normalised():
    html = "<p>My <b>order</b> &amp; refund</p><br>never   arrived.<script>x()</script>"
    assert clean(html) == "My order & refund never arrived."
    markdown = "# Problem\n**Refund** not [received](https://x.example)\n> quoted earlier mail\n- step `one`"
    assert clean(markdown) == "Problem Refund not received step one"
    signed = "The app crashes on login.\n\nThanks,\nDana Smith\nAcme Corp"
    assert clean(signed) == "The app crashes on login."
    assert clean("Thanks, the app crashes on login") == "Thanks, the app crashes on login"
    assert clean("On Mon, Jan 5, 2026 at 9:00 Ana wrote:\n> old\nNew text") == "New text"
    assert clean(None) == "" and clean("  \n\t ") == ""


def test_ticket_text_keeps_the_subject_first_and_only_the_latest_comments():
    text = ticket_text("Refund", "<p>Not received</p>", ["c1", "c2", "c3", "c4"])
    assert text == "Refund. Not received. c2. c3. c4"
    assert ticket_text("Same", "Same", []) == "Same"  # a description repeating the subject adds nothing
    long = ticket_text("Subject kept", "x " * 10_000)
    assert long.startswith("Subject kept. ") and len(long) <= MAX_CHARS


def test_ad_text_and_hash():
    text = ad_text(["Waterproof Boots", "Free Shipping"], ["Stay dry."], "Boots - Search", "Waterproof")
    assert text == "Waterproof Boots. Free Shipping. Stay dry. Boots - Search. Waterproof"
    assert text_hash(text) == text_hash(text) != text_hash(text + " ")
    assert len(text_hash(text)) == 64


def test_spaces_are_named_by_model_and_dimension_without_loading_a_model():
    assert EmbedderConfig().space_identity() == ("all-MiniLM-L6-v2", 384)
    assert EmbedderConfig(provider="onnx").space_identity() == ("all-MiniLM-L6-v2", 384)
    assert EmbedderConfig(provider="openai").space_identity() == ("text-embedding-3-small", 1536)
    assert EmbedderConfig(provider="openai", dimension=256).space_identity() == ("text-embedding-3-small", 256)
    assert length_order([3, 9, 1, 9]) == [1, 3, 0, 2]
