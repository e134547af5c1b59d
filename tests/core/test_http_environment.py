"""A provider client reads the environment's proxy and CA settings once, as requests would have
read them for every call, and never takes credentials from ~/.netrc."""

import pytest
import responses

from campaigns.volantinopiu import VolantinoPiuClient

BASE = "https://api.volantinopiu.example/v1"


def client() -> VolantinoPiuClient:
    return VolantinoPiuClient(base_url=BASE, token="tok")


@pytest.fixture
def clean_environment(monkeypatch):
    for name in (
        "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY",
        "http_proxy", "https_proxy", "all_proxy", "no_proxy",
        "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE",
    ):  # fmt: skip
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def test_the_proxy_of_the_environment_is_kept(clean_environment):
    clean_environment.setenv("HTTPS_PROXY", "http://proxy.chain.example:3128")
    session = client().session
    assert session.proxies["https"] == "http://proxy.chain.example:3128"
    assert session.trust_env is False  # read once, not at every call


def test_no_proxy_for_an_address_the_environment_exempts(clean_environment):
    clean_environment.setenv("HTTPS_PROXY", "http://proxy.chain.example:3128")
    clean_environment.setenv("NO_PROXY", "volantinopiu.example")
    assert "https" not in client().session.proxies


def test_a_ca_bundle_of_the_environment_is_kept(clean_environment, tmp_path):
    bundle = tmp_path / "chain-ca.pem"
    bundle.write_text("")
    clean_environment.setenv("REQUESTS_CA_BUNDLE", str(bundle))
    assert client().session.verify == str(bundle)


@pytest.mark.django_db  # the call is logged
@responses.activate
def test_netrc_credentials_are_never_sent(clean_environment, tmp_path):
    netrc = tmp_path / ".netrc"
    netrc.write_text("machine api.volantinopiu.example login someone password secret\n")
    netrc.chmod(0o600)
    clean_environment.setenv("NETRC", str(netrc))
    responses.post(f"{BASE}/addShop", json={"id": 7})
    client().request("POST", "addShop", operation="addShop", json_body={})
    assert responses.calls[0].request.headers["Authorization"] == "Bearer tok"
