"""A master key that cannot be used ends a command in one line naming the setting, exit 4.

Like an unreachable store (exit 3): whoever runs the loket must learn which setting
to fix, and the key itself (or what a key file holds) must never be printed.
"""

from __future__ import annotations

import base64
import os
import subprocess
from pathlib import Path

import pytest

from loket.settings import Settings
from tests.conftest import line
from tests.event_store import stored_events, zonder_logregels
from tests.test_cli import LOKET

GOOD = base64.b64encode(bytes(range(32))).decode()
SHORT = base64.b64encode(bytes(range(31))).decode()  # 31 bytes
NOT_BASE64 = "geen-base64-maar-wel-geheim!!"
FILE_TEXT = "sleutel-\u00e9\u00e9n-tekst"  # not ASCII: not a key file's text


def run(store: Settings, args: list[str], *, stdin: str | None = None, **env: str) -> subprocess.CompletedProcess:
    full = {k: v for k, v in os.environ.items() if not k.startswith("LOKET_")}
    full.update({"LOKET_DB": str(store.db), "LOKET_USER": "tester", **env})
    if store.database_url:
        full["LOKET_DATABASE_URL"] = store.database_url
    return subprocess.run(LOKET + args, input=stdin, capture_output=True, text=True, env=full, timeout=300)


@pytest.fixture
def stored(store: Settings) -> Settings:
    """A store written with a good master key."""
    done = run(store, ["ontvang", "-"], stdin=line(kenmerk="MK-1") + "\n", LOKET_MASTER_KEY=GOOD)
    assert done.returncode == 0, done.stderr
    return store


def bad_keys(tmp_path: Path) -> list[tuple[dict[str, str], str, str]]:
    """(environment, the setting the message must name, what must never be printed)."""
    directory = tmp_path / "sleutelmap"
    directory.mkdir(mode=0o700)
    garbled = tmp_path / "sleutel.txt"
    garbled.write_bytes(FILE_TEXT.encode("utf-8"))
    garbled.chmod(0o600)
    other = base64.b64encode(os.urandom(32)).decode()
    return [
        ({"LOKET_MASTER_KEY": SHORT}, "LOKET_MASTER_KEY", SHORT),
        ({"LOKET_MASTER_KEY": NOT_BASE64}, "LOKET_MASTER_KEY", NOT_BASE64),
        ({"LOKET_MASTER_KEY": other}, "LOKET_MASTER_KEY", other),  # a key, but not this store's
        ({"LOKET_MASTER_KEY_FILE": str(directory)}, "LOKET_MASTER_KEY_FILE", "\x00"),  # unreadable
        ({"LOKET_MASTER_KEY_FILE": str(garbled)}, "LOKET_MASTER_KEY_FILE", FILE_TEXT),
        ({"LOKET_MASTER_KEY_FILE": str(tmp_path / "er-is-niets")}, "LOKET_MASTER_KEY_FILE", "\x00"),
    ]


COMMANDS = (["ontvang", "-"], ["caseload"], ["verify"], ["show", "gemeente:MK-1", "--purpose", "triage"])


def test_a_master_key_that_cannot_be_used_is_one_line_naming_the_setting_and_exit_4(stored, tmp_path):
    for i, (env, setting, secret) in enumerate(bad_keys(tmp_path)):
        command = COMMANDS[i % len(COMMANDS)]
        result = run(stored, command, stdin=line(kenmerk="MK-2") + "\n", **env)
        assert result.returncode == 4, (env, result.stderr)
        assert "Traceback" not in result.stderr
        [message] = zonder_logregels(result.stderr)
        assert message.startswith("loket: ") and setting in message, message
        assert secret not in result.stderr + result.stdout
    # ... and nothing was stored with a key that could not be used.
    assert stored_events(stored) == {"MeldingOntvangen": 1, "MeldingGerouteerd": 1}
