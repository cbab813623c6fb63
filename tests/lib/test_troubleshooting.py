"""lib.troubleshooting: the lesson's misconfigurations reproduced against the emulator."""

from __future__ import annotations

import pytest
import requests

from lib import imds
from lib import target as targets
from lib.emulator import EmulatorControl
from lib.troubleshooting import (
    ForwardingProxy,
    TroubleshootingError,
    captured_logs,
    proxy_environment,
    stale_copy,
)

ARM = "https://management.azure.com/"


@pytest.fixture
def t(fresh, emulator_env):
    fresh.settings.imds_throttling = False
    return targets.resolve("emulator")


def token_request(t):
    return requests.get(f"{t.imds}/metadata/identity/oauth2/token", params={"api-version": "2018-02-01",
                        "resource": ARM}, headers={"Metadata": "true"}, timeout=10)


def test_a_proxy_in_the_way_is_refused_by_imds_and_no_proxy_fixes_it(t):
    with ForwardingProxy() as proxy:
        with proxy_environment(proxy.url, no_proxy=""):
            through = token_request(t)
        assert through.status_code == 400 and "X-Forwarded-For" in through.json()["error_description"]
        assert proxy.forwarded == [f"GET {t.imds}/metadata/identity/oauth2/token"]
        with proxy_environment(proxy.url, no_proxy="127.0.0.1"):
            direct = token_request(t)
        assert direct.status_code == 200 and len(proxy.forwarded) == 1
    assert token_request(t).status_code == 200  # the variables are restored


def test_the_proxy_forwards_only_to_loopback_and_imds(t):
    with ForwardingProxy() as proxy:
        session = requests.Session()
        session.trust_env = False
        refused = session.get("http://203.0.113.5/", proxies={"http": proxy.url}, timeout=10)
        assert refused.status_code == 403 and "forwards only" in refused.text
        assert proxy.forwarded == []


def test_retries_show_in_the_captured_logs(t):
    control = EmulatorControl.from_profile(t.profile)
    control.inject_fault(429, count=2, retry_after=0)
    with captured_logs("lib.imds", "urllib3") as lines, imds.ImdsClient(t.imds) as client:
        client.get_token(ARM)
    assert any("IMDS answered 200 after 2 retries" in line for line in lines), lines
    assert sum(" HTTP/1.1\" 429 " in line for line in lines) == 2, lines  # urllib3 logs each answer
    assert sum("Incremented Retry" in line for line in lines) == 2, lines


def test_a_stale_copy_is_refused_as_expired(t):
    token = imds.ImdsClient(t.imds).get_token(ARM)
    stale = stale_copy(token, t, hours=25)
    assert imds.decode_claims(stale)["exp"] == token.claims["exp"] - 25 * 3600
    answer = requests.get(f"{t.arm}{t.resource_group_id}", params={"api-version": "2021-04-01"},
                          headers={"Authorization": f"Bearer {stale}"}, verify=t.verify, timeout=10)
    assert answer.status_code == 401 and answer.json()["error"]["code"] == "ExpiredAuthenticationToken"
    fresh_copy = stale_copy(token, t, hours=0)  # the same times: accepted (the signature is the emulator's)
    ok = requests.get(f"{t.arm}{t.resource_group_id}", params={"api-version": "2021-04-01"},
                      headers={"Authorization": f"Bearer {fresh_copy}"}, verify=t.verify, timeout=10)
    assert ok.status_code == 403  # authenticated; not authorized (nothing granted)


def test_a_stale_copy_cannot_be_made_on_azure():
    with pytest.raises(TroubleshootingError):
        stale_copy("a.b.c", targets.Target(name="azure", endpoints={}))
