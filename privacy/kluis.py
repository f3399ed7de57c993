"""Sealing and opening personal data: AES-256-GCM under the subject's data key.

A sealed value is an envelope that names its key and carries nonce and
ciphertext; the additional authenticated data binds it to its melding and
field, so a ciphertext moved to another melding or field does not open.
Once the subject's keys are destroyed an envelope opens as `VERWIJDERD`.
"""

from __future__ import annotations

import base64
import json
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from uuid import UUID

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from privacy.keystore import GEEN, KeyStore
from privacy.keystore_postgres import PostgresKeyStore, Server
from privacy.masterkey import KEY_BYTES, SleutelFout, derive, load_master_key, master_key_source
from privacy.pseudonym import Betrokkene, Pseudonimiseerder

ALGORITHM = "AES-256-GCM"
# The key store: an SQLite file (the embedded default) or PostgreSQL (LOKET_KEYSTORE_URL), one interface.
Sleutelopslag = KeyStore | PostgresKeyStore
VERWIJDERD: dict[str, bool] = {"verwijderd": True}  # how shredded personal data reads


class Beschadigd(Exception):
    """A ciphertext that does not authenticate: altered, or moved to another melding or field."""


def is_envelope(value: Any) -> bool:
    return isinstance(value, dict) and value.get("versleuteld") == ALGORITHM


def _aad(melding_id: UUID, veld: str, key_id: str) -> bytes:
    return f"{melding_id}|{veld}|{key_id}".encode()


class Sessie:
    """Seals the personal data of one batch; which meldingen use which keys reaches the key store in
    one transaction.

    A subject's data key is claimed in the key store before anything is sealed under it
    (privacy/keystore.py `claim_keys`): processes sealing data of the same new subject at
    once share the one key that was stored first. `bewaar()` must run before the events
    that hold the ciphertext are saved: shredding finds the meldingen through it.
    """

    def __init__(self, keystore: Sleutelopslag):
        self._keystore = keystore
        self._keys: dict[tuple[str, str], tuple[str, AESGCM]] = {}
        self._claimed: dict[tuple[str, str], tuple[str, bytes]] = {}  # claimed, not used yet
        self._usage: set[tuple[str, str]] = set()
        self._stored_usage: set[tuple[str, str]] = set()

    def zoek_sleutels(self, wie: Iterable[tuple[str, str | None]]) -> None:
        """Claim the keys of many (subject, compartment) pairs at once, before sealing their data."""
        per_compartment: dict[str, set[str]] = {}
        for subject, compartment in wie:
            if (subject, compartment or GEEN) not in self._keys:
                per_compartment.setdefault(compartment or GEEN, set()).add(subject)
        for compartment, subjects in per_compartment.items():
            found = self._keystore.claim_keys(subjects, compartment)
            self._claimed.update({(s, compartment): found[s] for s in subjects})

    def _key(self, subject: str, compartment: str) -> tuple[str, AESGCM]:
        found = self._keys.get((subject, compartment))
        if found is None:
            claimed = self._claimed.pop((subject, compartment), None)
            if claimed is None:
                claimed = self._keystore.claim_keys([subject], compartment)[subject]
            key_id, key = claimed
            found = self._keys[(subject, compartment)] = (key_id, AESGCM(key))
        return found

    def verzegel(self, betrokkene: str, compartiment: str | None, melding_id: UUID, veld: str, waarde: Any) -> dict:
        key_id, aes = self._key(betrokkene, compartiment or GEEN)
        self._usage.add((key_id, str(melding_id)))
        nonce = os.urandom(12)
        plain = json.dumps(waarde, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        data = nonce + aes.encrypt(nonce, plain, _aad(melding_id, veld, key_id))
        return {"versleuteld": ALGORITHM, "sleutel": key_id, "data": base64.b64encode(data).decode("ascii")}

    def bewaar(self) -> None:
        if self._usage:
            self._keystore.add((), self._usage)
        self._stored_usage |= self._usage
        self._usage = set()

    def vergeet(self, melding_ids: Iterable[UUID]) -> None:
        """Take back what `bewaar` stored for meldingen whose events were not saved after all: their
        key-to-melding rows. No row of the key store may point at a melding that does not exist.

        The keys stay: another process may have claimed the same key and sealed under it. A key
        that nothing is sealed under opens nothing, and goes when its subject is shredded."""
        gone = {str(m) for m in melding_ids}
        usage = {(key_id, m) for key_id, m in self._stored_usage if m in gone}
        if not usage:
            return
        self._keystore.forget(usage, ())
        self._stored_usage -= usage


@dataclass(frozen=True, slots=True)
class Ketensleutels:
    """What keeps the hash chain over the events (events/hashchain.py): the key that signs its
    anchors and head, the key its links are made with, and where its head is kept."""

    anker: Ed25519PrivateKey
    schakel: bytes
    koppen: Sleutelopslag


class Kluis:
    """Pseudonyms, data keys and envelopes: everything that touches personal data in the clear."""

    def __init__(self, keystore: Sleutelopslag, master: bytes):
        self.keystore = keystore
        self.pseudoniemen = Pseudonimiseerder(derive(master, "pseudoniem/v1"))
        self._anchor_seed = derive(master, "keten-anker/v1")
        self._link_key = derive(master, "keten-schakel/v2")

    @classmethod
    def in_geheugen(cls) -> Kluis:
        """A vault that keeps nothing: an in-memory key store and a key that lives as long as the
        process (for a loket that stores nothing either)."""
        return cls(KeyStore(":memory:", os.urandom(KEY_BYTES)), os.urandom(KEY_BYTES))

    @classmethod
    def openen(cls, pad: Path, *, master_key: str | None = None, master_key_file: Path | None = None,
               server: Server | None = None) -> Kluis:
        """The key store at `pad` (or on `server`, PostgreSQL), under the master key given
        (LOKET_MASTER_KEY, base64) or kept in a file (LOKET_MASTER_KEY_FILE); with neither, a
        development key at `pad`.master-key, generated when missing, loudly; not beside a key
        store on a server, which the processes of several hosts share: a key in a file of one
        host would open it for that host alone. Raises SleutelFout naming the setting, never
        the key or a password."""
        given = {"LOKET_MASTER_KEY": master_key,
                 "LOKET_MASTER_KEY_FILE": str(master_key_file) if master_key_file else None}
        settings = {name: value for name, value in given.items() if value}
        if server is not None and not settings:
            raise SleutelFout(f"{server.setting} needs LOKET_MASTER_KEY or LOKET_MASTER_KEY_FILE: a development "
                              "master key would be a file of this host alone (docs/privacy.md)")
        development = Path(f"{pad}.master-key")
        master = load_master_key(settings, development)
        source = master_key_source(settings, development)
        if server is not None:
            return cls(PostgresKeyStore(server, master, master_source=source), master)
        return cls(KeyStore(pad, master, master_source=source), master)

    def betrokkene(self, persoon: dict[str, Any] | None, melding_id: UUID) -> Betrokkene:
        return self.pseudoniemen.van(persoon, melding_id)

    def sessie(self) -> Sessie:
        return Sessie(self.keystore)

    def open(self, envelope: Any, *, melding_id: UUID, veld: str, compartimenten: frozenset[str]) -> Any:
        """The value sealed in an envelope; `VERWIJDERD` once its key is destroyed."""
        if envelope is None or not is_envelope(envelope):
            return envelope
        key = self.keystore.key(envelope["sleutel"], compartimenten=compartimenten)
        if key is None:
            return dict(VERWIJDERD)
        data = base64.b64decode(envelope["data"])
        try:
            plain = AESGCM(key).decrypt(data[:12], data[12:], _aad(melding_id, veld, envelope["sleutel"]))
        except InvalidTag:
            raise Beschadigd(f"the {veld} of melding {melding_id} does not authenticate (altered or moved)") from None
        return json.loads(plain)

    def anker_sleutel(self) -> Ed25519PrivateKey:
        """Signs the hash chain's anchors; its public half lets anyone check them."""
        return Ed25519PrivateKey.from_private_bytes(self._anchor_seed)

    def keten(self) -> Ketensleutels:
        """The keys of the hash chain, and the key store that keeps its head apart from the events."""
        return Ketensleutels(self.anker_sleutel(), self._link_key, self.keystore)

    def close(self) -> None:
        self.keystore.close()
