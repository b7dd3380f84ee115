"""The DLI reference's curl command lines, verbatim, and running them against a served instance."""

from __future__ import annotations

import subprocess

import requests
from requests.auth import HTTPDigestAuth

from tests.e2e import winargs

HOST = "192.168.0.100"

# dli-token-access.txt, Registration Example 1 and Command Examples 1, character for character.
REGISTRATION_1 = r'''curl -k -u admin:1234 -X PUT -H "X-CSRF: x" -H "Content-Type: application/json" --data-binary {\"name\":\"user2\",\"redirect_urls\":{},\"scopes\":{\"/relay/outlets/all;/=name/\":true,\"/relay/outlets/=1,3,5/=state,transient_state,physical_state/?access=get\":true,\"/relay/outlets/3/=state,transient_state/?access=modify\":true,\"/relay/outlets/5/=cycle/?access=invoke,get\":true,\"/meter/values/all;/value/\":true},\"refresh_tokens\":{},\"access_tokens\":{\"185f8db32271fe25f561a6fc938b2e264306ec304eda518007d1764826381969\":{\"remaining_use_count\":3000}}} --digest "https://192.168.0.100/restapi/auth/clients/testclient/"'''
CYCLE_6 = r'''curl -k -D - -H "Authorization: Bearer testclient.SGVsbG8" -X POST -H "X-CSRF: x" --digest "https://192.168.0.100/restapi/relay/outlets/5/cycle/"'''
TURN_ON_4 = r'''curl -k -D - -H "Authorization: Bearer testclient.SGVsbG8" -X PUT -H "X-CSRF: x" --data "value=true" --digest "https://192.168.0.100/restapi/relay/outlets/3/state/"'''

# Registration Example 2 and Command Examples 2.
REGISTRATION_2 = r'''curl -u admin:1234 -k -X PUT -H "X-CSRF: x" -H "Content-Type: application/json" --data-binary {\"name\":\"DaveSmith\",\"redirect_urls\":{},\"scopes\":{\"/relay/outlets/all;/=name/\":true,\"/relay/outlets/all;/=state,transient_state,physical_state/?access=get\":true,\"/relay/outlets/=2,3,5;/=state,transient_state/?access=modify,get\":true,\"/relay/outlets/=2,3,6/=cycle/?access=invoke,get\":true,\"/network/wireless/enabled/?access=modify,get\":true,\"/script/start/?access=invoke\":true},\"refresh_tokens\":{},\"access_tokens\":{\"185f8db32271fe25f561a6fc938b2e264306ec304eda518007d1764826381969\":{}}} --digest "https://192.168.0.100/restapi/auth/clients/DaveSmith/"'''
DAVE_TURN_ON_2 = r'''curl -D - -H "Authorization: Bearer DaveSmith.SGVsbG8" -k -X PUT -H "X-CSRF: x" --data "value=true" --digest "https://192.168.0.100/restapi/relay/outlets/1/state/"'''
DAVE_CYCLE_4 = r'''curl -k -D - -H "Authorization: Bearer DaveSmith.SGVsbG8" -X POST -H "X-CSRF: x" --digest "https://192.168.0.100/restapi/relay/outlets/3/cycle/"'''
DAVE_STATES = r"""curl -D - -H "Authorization: Bearer DaveSmith.SGVsbG8" -k -H "Accept:application/json" --digest https://192.168.0.100/restapi/relay/outlets/all;/physical_state/"""


def run_windows_line(server, line: str) -> tuple[int | None, str]:
    """Run a reference line as Windows would; return (HTTP status if -D - shows it, body)."""
    argv = winargs.split(line.replace(HOST, server.base.split("//")[1]))
    return _run(argv)


def _run(argv: list[str]) -> tuple[int | None, str]:
    result = subprocess.run(argv, capture_output=True, text=True, timeout=30, check=False)
    assert result.returncode == 0, result.stderr
    statuses = [int(line.split()[1]) for line in result.stdout.splitlines() if line.startswith("HTTP/")]
    if not statuses:
        return None, result.stdout
    return statuses[-1], result.stdout.split("\n\n")[-1]


def registered(server, client: str) -> dict:
    return requests.get(
        server.url(f"/restapi/auth/clients/{client}/"),
        auth=HTTPDigestAuth("admin", "1234"),
        verify=server.cert,
    ).json()


def physical(server, index: int) -> bool:
    return requests.get(
        server.url(f"/restapi/relay/outlets/{index}/physical_state/"),
        auth=HTTPDigestAuth("admin", "1234"),
        verify=server.cert,
    ).json()
