"""SMTP delivery of a digest, against a real SMTP server (aiosmtpd) on loopback: plain, AUTH, STARTTLS."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import ipaddress
import socket
import ssl

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from plugin.config import ConfigError, Secret, SmtpConfig
from plugin.mailer import MailError, addresses_for, send_digest
from tests.duties import at


class Inbox:
    def __init__(self):
        self.envelopes = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook name
        self.envelopes.append(envelope)
        return "250 OK"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _authenticator(server, session, envelope, mechanism, auth_data):
    ok = isinstance(auth_data, LoginPassword) and (auth_data.login, auth_data.password) == (b"desk", b"s3cret")
    # handled=False: aiosmtpd then answers 535 itself
    return AuthResult(success=ok, handled=False)


@pytest.fixture
def server():
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=_free_port(), authenticator=_authenticator,
                            auth_require_tls=False)
    controller.start()
    try:
        yield inbox, controller.port
    finally:
        controller.stop()


def _config(port: int, **extra) -> SmtpConfig:
    fields = dict(host="127.0.0.1", port=port, security="none", sender="escalator@example.com",
                  addresses={"pm-wang": "wang@example.com"}, timeout=5)
    return SmtpConfig(**{**fields, **extra})


def test_digest_is_delivered_with_its_headers(server, tmp_path):
    inbox, port = server
    sent = send_digest(_config(port), tmp_path, ["pm-wang", "li@example.com", "pm-wang"], "未解决事件日报 2026-11-20",
                       "K-1 一级事件\n", html="<p>K-1</p>", now=at("2026-11-20 17:00"))
    assert sent == ["wang@example.com", "li@example.com"]
    (envelope,) = inbox.envelopes
    assert envelope.mail_from == "escalator@example.com"
    assert envelope.rcpt_tos == ["wang@example.com", "li@example.com"]
    message = email.message_from_bytes(envelope.content, policy=email.policy.default)
    assert message["Subject"] == "未解决事件日报 2026-11-20"
    assert message["Date"] == "Fri, 20 Nov 2026 17:00:00 +0800"
    assert message["Message-ID"].endswith("@example.com>")
    assert message.get_body(("plain",)).get_content().splitlines() == ["K-1 一级事件"]
    assert message.get_body(("html",)).get_content().strip() == "<p>K-1</p>"


def test_login_with_the_secret_and_a_refusal_without_it(server, tmp_path, monkeypatch):
    inbox, port = server
    monkeypatch.setenv("SMTP_PASS", "s3cret")
    config = _config(port, username="desk", password=Secret(env="SMTP_PASS"))
    assert send_digest(config, tmp_path, ["pm-wang"], "s", "t") == ["wang@example.com"]
    assert len(inbox.envelopes) == 1
    monkeypatch.setenv("SMTP_PASS", "wrong-password")
    with pytest.raises(MailError) as caught:
        send_digest(config, tmp_path, ["pm-wang"], "s", "t")
    assert str(caught.value) == f"smtp 127.0.0.1:{port}: authentication failed for 'desk' (535)"
    assert "wrong-password" not in str(caught.value)
    with pytest.raises(ConfigError, match="smtp.password: needed with smtp.username"):
        send_digest(_config(port, username="desk"), tmp_path, ["pm-wang"], "s", "t")


def test_unknown_people_and_an_unreachable_server(tmp_path):
    config = _config(_free_port())
    with pytest.raises(MailError, match=r"smtp.addresses: no e-mail address for pm-li, pm-zhao"):
        addresses_for(config, ["pm-wang", "pm-li", "pm-zhao"])
    assert send_digest(config, tmp_path, [], "s", "t") == []  # nobody to tell: no connection at all
    with pytest.raises(MailError, match=rf"smtp 127.0.0.1:{config.port}: ConnectionRefusedError"):
        send_digest(config, tmp_path, ["pm-wang"], "s", "t")


def _self_signed(tmp_path):
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    start = dt.datetime(2020, 1, 1, tzinfo=dt.UTC)  # fixed validity: no dependence on today
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(1).not_valid_before(start).not_valid_after(start + dt.timedelta(days=365 * 100))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                           critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    cert_file, key_file = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_file, key_file


def test_starttls_then_login(tmp_path):
    cert_file, key_file = _self_signed(tmp_path)
    server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_ctx.load_cert_chain(cert_file, key_file)
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=_free_port(), tls_context=server_ctx,
                            require_starttls=True, authenticator=_authenticator, auth_require_tls=True)
    controller.start()
    try:
        password_file = tmp_path / "smtp-password"
        password_file.write_text("s3cret\n")
        password_file.chmod(0o600)  # a secret file others can read is refused (plugin/private.py)
        config = _config(controller.port, security="starttls", username="desk",
                         password=Secret(file="smtp-password"))
        client_ctx = ssl.create_default_context(cafile=str(cert_file))
        assert send_digest(config, tmp_path, ["pm-wang"], "s", "over TLS", tls_context=client_ctx) == [
            "wang@example.com"]
        assert b"over TLS" in inbox.envelopes[0].content
        # without trusting the certificate, nothing is sent
        with pytest.raises(MailError, match="SSLCertVerificationError"):
            send_digest(config, tmp_path, ["pm-wang"], "s", "t")
        assert len(inbox.envelopes) == 1
    finally:
        controller.stop()
