"""The gateway's calls to the fleet server resume their TLS session while its TLS files stay."""

from __future__ import annotations

import os

from tests.fleet.support import result


def test_a_second_sync_resumes_the_tls_session_and_new_tls_files_start_a_new_one(
    service, responder, ca, fleet
):
    responder.answer = result(5, ca)
    assert service.sync("test") == 5
    assert service.sync("test") == 5
    assert service.sync("test") == 5
    assert responder.resumed == [False, True, True]
    # a renewed client certificate (same path, new file): the old session belongs to the old one
    stat = os.stat(fleet["cert_file"])
    os.utime(fleet["cert_file"], ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    assert service.sync("test") == 5
    assert responder.resumed[-1] is False
    assert service.sync("test") == 5
    assert responder.resumed[-1] is True
