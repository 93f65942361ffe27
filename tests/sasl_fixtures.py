"""What the SASL (SCRAM) daemon tests share: two users, per-user access rules, and
libvirt's message when the client offers no mechanism the daemon takes.

``tests/conftest.py`` loads this module as a plugin, so the ``sasl_files`` fixture
is everywhere; ``tests/`` is on ``sys.path`` (pytest puts the root conftest's
folder there), so a test module can ``from sasl_fixtures import NO_MECH``."""

from __future__ import annotations

import pytest

from pyvirt.daemon import saslpasswd

RULES = """\
allow sasl:alice  *
allow sasl:bob    connect:*
allow sasl:bob    domain:getattr
allow sasl:bob    domain:read
allow sasl:bob    domain:search_*
deny  *           *
"""
NO_MECH = ("authentication failed: Failed to start SASL negotiation: -4 (SASL(-4): no "
           "mechanism available: No worthy mechs found)")


@pytest.fixture
def sasl_files(tmp_path) -> dict[str, str]:
    """alice/wonderland and bob/builder, ``RULES``, an audit log: as daemon settings."""
    passwd = str(tmp_path / "sasl-passwd")
    saslpasswd.add_user(passwd, "alice", "wonderland")
    saslpasswd.add_user(passwd, "bob", "builder")
    (tmp_path / "rules").write_text(RULES)
    return {"sasl_passwd_file": passwd, "access_rules_file": str(tmp_path / "rules"),
            "audit_log": str(tmp_path / "audit.log")}
