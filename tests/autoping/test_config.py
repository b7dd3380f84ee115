"""[autoping] in the config file: an ICMP address without the extra is a clear error."""

from __future__ import annotations

import sys

import pytest

from powerctl import config


@pytest.fixture
def without_icmplib(monkeypatch):
    monkeypatch.setitem(sys.modules, "icmplib", None)  # import icmplib now fails, as without the extra


def load(address: str) -> dict:
    return config.load({"autoping": {"items": [{"addresses": [address], "outlets": [1]}]}})


def test_an_icmp_address_without_the_extra_names_it(without_icmplib):
    with pytest.raises(config.ConfigError) as raised:
        load("10.0.0.1")
    message = str(raised.value)
    assert message.startswith("invalid configuration: autoping.items.0.addresses.0: '10.0.0.1'")
    assert "pip install 'powerctl[autoping]'" in message


@pytest.mark.parametrize("address", ["tcp://10.0.0.1:22", "http://10.0.0.1/"])
def test_tcp_and_http_need_no_extra(without_icmplib, address):
    assert load(address)["autoping"]["items"][0]["addresses"] == [address]


def test_an_item_naming_a_missing_outlet_is_refused():
    with pytest.raises(config.ConfigError, match=r"autoping\.items\.0\.outlets: there is no outlet 9"):
        config.load({"autoping": {"items": [{"addresses": ["tcp://10.0.0.1:22"], "outlets": [9]}]}})
