import pytest

from tests.loyalty.factories import consenting


@pytest.fixture(autouse=True)
def push_consent(db):
    """The test numbers 393480000000–393480000099 belong to customers who gave push consent."""
    consenting(*(f"3934800000{n:02d}" for n in range(100)))
