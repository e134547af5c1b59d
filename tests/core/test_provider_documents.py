"""The contract tests read copies of the providers' documents: they must be the documents."""

import pytest

from tests.provider_documents import FIXTURES, ORIGINALS


def test_every_provider_document_has_its_copy():
    assert sorted(p.name for p in FIXTURES.glob("*.txt")) == [
        "aisac-requests-whatsapp-shopify.txt",
        "amm-fidelity-cards.txt",
        "smshosting-push.txt",
        "volantinopiu-campaigns-media-shops.txt",
        "wolkvox-callcenter-records.txt",
    ]


@pytest.mark.skipif(not ORIGINALS.is_dir(), reason="the originals are not beside the repository")
def test_the_copies_match_the_originals():
    for original in ORIGINALS.glob("*.txt"):
        assert (FIXTURES / original.name).read_bytes() == original.read_bytes(), original.name
