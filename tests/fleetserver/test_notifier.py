"""The notifier's client certificate: who it names, how it is kept, when it is made anew."""

from __future__ import annotations

import datetime
import stat

from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from fleetserver import pki
from fleetserver.notify import Notifier

PEER = "2294ca46-c010-42dd-a4e1-91b467adc219"


def test_the_notifier_presents_a_client_certificate_named_by_the_fleet_peer(tmp_path):
    issuer = pki.new_issuer()
    notifier = Notifier(None, PEER, issuer, str(tmp_path))  # type: ignore[arg-type]
    try:
        first = notifier.context()
        identity = tmp_path / "tls" / "notifier.pem"
        assert stat.S_IMODE(identity.stat().st_mode) == 0o600
        cert = x509.load_pem_x509_certificate(identity.read_bytes())
        assert cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == PEER
        usage = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
        assert list(usage) == [ExtendedKeyUsageOID.CLIENT_AUTH]
        assert pki.signed_by(cert, pki.load_pem(issuer[0]))
        assert notifier.context() is first  # kept while it has more than a day left

        # a day before it ends, the next notification makes a new one
        notifier._context_ends = datetime.datetime.now(datetime.UTC) + datetime.timedelta(hours=23)
        second = notifier.context()
        assert second is not first
        renewed = x509.load_pem_x509_certificate(identity.read_bytes())
        assert renewed.serial_number != cert.serial_number
        assert renewed.not_valid_after_utc - datetime.datetime.now(datetime.UTC) > datetime.timedelta(days=6)
    finally:
        notifier.close()
