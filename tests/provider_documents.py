"""The five providers' documents, as fixtures of the contract tests.

Copies of `../shared/api-docs/`, kept in the repository so that the contract tests run wherever
the repository is cloned (CI included); `tests/core/test_provider_documents.py` checks that the
copies still match the originals whenever those are beside the repository."""

from pathlib import Path

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "provider_documents"
ORIGINALS = Path(__file__).resolve().parents[2] / "shared" / "api-docs"


def provider_document(name: str) -> Path:
    """The path of a provider's document, e.g. provider_document("wolkvox-callcenter-records")."""
    return FIXTURES / f"{name}.txt"
