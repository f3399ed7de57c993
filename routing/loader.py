"""Read a ruleset directory, validate it as a whole, and fingerprint it.

The version is `<ruleset name>@<12 hex of sha256>` over every file that can change a decision:
the manifest, the rule files, the gemeente register and the participation per gemeente. Two loket
instances with the same version decide identically; an audit can tell which rules were in force by
the version on the decision.

`inspect_ruleset` reads as much as it can and returns every problem it found (for
`loket rules check`); `read_ruleset` refuses a ruleset with any problem.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import yaml
from pydantic import ValidationError

from routing.deelname import DEFAULT_PATH as DEFAULT_DEELNAME
from routing.deelname import Deelname, DeelnameFout
from routing.gemeenten import DEFAULT_PATH as DEFAULT_REGISTER
from routing.gemeenten import GemeenteRegister, RegisterError
from routing.overlap import can_meet
from routing.schema import Manifest, Rule, RuleFile, TableSpec
from routing.signalen import onbekende_ids

DEFAULT_DIRECTORY = Path(__file__).parent / "rules"
MANIFEST = "ruleset.yaml"
REGISTER = "gemeenten.yaml"
DEELNAME = "deelname.yaml"
# Data files a ruleset directory may carry to replace the shipped ones; not rule files.
DATA_FILES = (MANIFEST, REGISTER, DEELNAME)


@dataclass(frozen=True, slots=True)
class Probleem:
    """One thing wrong with a ruleset: the file, the rule where it is one rule's, and what."""

    bestand: str
    regel: str | None
    tekst: str

    def __str__(self) -> str:
        if self.regel is None:
            return f"{self.bestand}: {self.tekst}"
        return f"{self.bestand}: rule {self.regel!r}: {self.tekst}"


class RulesetError(ValueError):
    """A ruleset that cannot be used; the message names the file and, where known, the rule."""

    def __init__(self, problemen: list[Probleem]):
        self.problemen = tuple(problemen)
        more = len(self.problemen) - 1
        super().__init__(str(self.problemen[0]) + (f" (and {more} more)" if more else ""))


@dataclass(frozen=True, slots=True)
class LoadedRule:
    rule: Rule
    tabel: str
    bestand: str


@dataclass(frozen=True, slots=True)
class LoadedTable:
    spec: TableSpec
    rules: tuple[LoadedRule, ...]
    afleiding: bool  # a derivation table: its rows only produce kenmerken for later tables


@dataclass(frozen=True, slots=True)
class RulesetSource:
    name: str
    version: str
    tables: tuple[LoadedTable, ...]
    register: GemeenteRegister
    deelname: Deelname
    producten: frozenset[str]
    labels: frozenset[str]
    soorten: frozenset[str]  # declared in the manifest, or else every soort a rule names
    files: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Inspectie:
    """What reading a directory gave: the ruleset (None when it could not be read at all),
    built from the rows that are valid, and every problem found."""

    source: RulesetSource | None
    problemen: tuple[Probleem, ...]


class _Fataal(Exception):
    """Nothing more can be read: no manifest, or no register."""

    def __init__(self, probleem: Probleem):
        self.probleem = probleem


def read_ruleset(directory: Path | None = None) -> RulesetSource:
    inspectie = inspect_ruleset(directory)
    if inspectie.problemen:
        raise RulesetError(list(inspectie.problemen))
    assert inspectie.source is not None
    return inspectie.source


def inspect_ruleset(directory: Path | None = None) -> Inspectie:
    directory = Path(directory) if directory is not None else DEFAULT_DIRECTORY
    problemen: list[Probleem] = []
    try:
        source = _read(directory, problemen)
    except _Fataal as exc:
        return Inspectie(None, (*problemen, exc.probleem))
    return Inspectie(source, tuple(problemen))


def _read(directory: Path, problemen: list[Probleem]) -> RulesetSource:
    manifest_path = directory / MANIFEST
    if not manifest_path.is_file():
        raise _Fataal(Probleem(str(directory), None, f"no {MANIFEST} (ruleset name and tables)"))
    manifest = _parse(manifest_path, Manifest, fatal=True)
    register_path = directory / REGISTER if (directory / REGISTER).is_file() else DEFAULT_REGISTER
    try:
        register = GemeenteRegister.from_yaml(register_path)
    except RegisterError as exc:
        raise _Fataal(Probleem(REGISTER, None, str(exc))) from exc
    deelname_path = directory / DEELNAME if (directory / DEELNAME).is_file() else DEFAULT_DEELNAME
    try:
        deelname = Deelname.from_yaml(deelname_path)
    except DeelnameFout as exc:
        raise _Fataal(Probleem(DEELNAME, None, str(exc))) from exc

    rule_paths = sorted(p for p in directory.glob("*.yaml") if p.name not in DATA_FILES)
    if not rule_paths:
        raise _Fataal(Probleem(str(directory), None, "no rule files"))
    specs = {t.naam: t for t in manifest.tabellen}
    if len(specs) != len(manifest.tabellen):
        problemen.append(Probleem(MANIFEST, None, "a table name is declared twice"))
    rows: dict[str, list[LoadedRule]] = {name: [] for name in specs}
    for path in rule_paths:
        for loaded in _read_rule_file(path, specs, problemen):
            rows[loaded.tabel].append(loaded)

    tables = tuple(_table(specs[name], tuple(rows[name])) for name in specs)
    named = {s for t in tables for r in t.rules for s in r.rule.als.soort or ()}
    source = RulesetSource(
        name=manifest.ruleset,
        version=f"{manifest.ruleset}@"
                f"{_fingerprint([manifest_path, *rule_paths, register_path, deelname_path])}",
        tables=tables,
        register=register,
        deelname=deelname,
        producten=frozenset(manifest.producten),
        labels=frozenset(manifest.labels),
        soorten=frozenset(manifest.soorten if manifest.soorten is not None else named),
        files=tuple(p.name for p in rule_paths),
    )
    _validate(source, declared_soorten=manifest.soorten is not None, problemen=problemen)
    problemen.extend(_validate_deelname(source))
    return source


def _fingerprint(paths: list[Path]) -> str:
    digest = hashlib.sha256()
    for path in paths:
        digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:12]


def _parse(path: Path, model, fatal: bool = False):
    """The file validated as `model`; a problem (None) when it is not."""
    try:
        return model.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")))
    except yaml.YAMLError as exc:
        probleem = Probleem(path.name, None, f"invalid YAML: {exc}")
    except ValidationError as exc:
        probleem = Probleem(path.name, None, _errors(exc))
    if fatal:
        raise _Fataal(probleem)
    return probleem


def _errors(exc: ValidationError) -> str:
    return "; ".join(
        f"{'.'.join(str(p) for p in err['loc']) or '(top)'}: {err['msg']}" for err in exc.errors()
    )


def _read_rule_file(path: Path, specs: dict[str, TableSpec],
                    problemen: list[Probleem]) -> list[LoadedRule]:
    rule_file = _parse(path, RuleFile)
    if isinstance(rule_file, Probleem):
        problemen.append(rule_file)
        return []
    spec = specs.get(rule_file.tabel)
    if spec is None:
        problemen.append(Probleem(path.name, None, f"table {rule_file.tabel!r} is not in {MANIFEST}"))
        return []
    if spec.hit_policy != rule_file.hit_policy:
        problemen.append(Probleem(path.name, None, f"hit_policy {rule_file.hit_policy} but "
                                  f"{MANIFEST} declares {spec.hit_policy} for table {spec.naam!r}"))
        return []
    loaded = []
    for index, raw in enumerate(rule_file.rules):
        name = raw.get("id", f"#{index + 1}") if isinstance(raw, dict) else f"#{index + 1}"
        try:
            rule = Rule.model_validate(raw)
        except ValidationError as exc:
            problemen.append(Probleem(path.name, str(name), _errors(exc)))
            continue
        loaded.append(LoadedRule(rule, spec.naam, path.name))
    return loaded


def _table(spec: TableSpec, rules: tuple[LoadedRule, ...]) -> LoadedTable:
    derives = [r for r in rules if r.rule.dan.kenmerken]
    return LoadedTable(spec, rules, afleiding=bool(derives) and len(derives) == len(rules))


def _validate(source: RulesetSource, *, declared_soorten: bool, problemen: list[Probleem]) -> None:
    seen: dict[str, str] = {}
    produced: set[str] = set()
    zl_gemeenten = source.register.zuid_limburg_gemeenten()
    for table in source.tables:
        for loaded in table.rules:
            def fout(tekst: str, loaded: LoadedRule = loaded) -> None:
                problemen.append(Probleem(loaded.bestand, loaded.rule.id, tekst))

            if loaded.rule.id in seen:
                fout(f"id also used in {seen[loaded.rule.id]}")
            seen.setdefault(loaded.rule.id, loaded.bestand)
            _validate_rule(loaded, table, source, zl_gemeenten, produced, fout)
            if declared_soorten:
                for soort in loaded.rule.als.soort or ():
                    if soort not in source.soorten:
                        fout(f"unknown soort {soort!r} (not in the soorten of {MANIFEST})")
        if table.afleiding:
            if table.spec.hit_policy != "COLLECT":
                problemen.append(Probleem(
                    MANIFEST, None, f"derivation table {table.spec.naam!r} must be COLLECT: "
                    f"every kenmerk that holds is derived"))
            produced |= {k for r in table.rules for k in r.rule.dan.kenmerken}
        problemen.extend(_ambiguous_priorities(table))


def _validate_rule(loaded, table, source, zl_gemeenten, produced, fout) -> None:
    als, dan = loaded.rule.als, loaded.rule.dan
    if dan.kenmerken and not table.afleiding:
        fout("kenmerken may only be produced in a table whose rows all derive kenmerken "
             "(a derivation table)")
    if table.afleiding and (dan.outcome or dan.product or dan.labels or dan.notify or dan.queue
                            or dan.deadline_dagen is not None):
        fout("a derivation row only produces kenmerken")
    if table.spec.hit_policy == "COLLECT" and (dan.outcome or dan.product or dan.queue
                                               or dan.deadline_dagen is not None):
        fout("a COLLECT row may add labels, notify or kenmerken, not outcome, product, queue or "
             "deadline")
    for product in (dan.product, *(als.product or ())):
        if product is not None and product not in source.producten:
            fout(f"unknown product {product!r}")
    for label in dan.labels:
        if label not in source.labels:
            fout(f"unknown label {label!r}")
    for zvh in als.zvh or ():
        if zvh not in source.register.zvh_namen:
            fout(f"unknown zvh {zvh!r}")
    if dan.queue is not None:
        house = dan.queue.split("/", 1)[0]
        if house not in source.register.zvh_namen and house not in ("loket", "{zvh}"):
            fout(f"queue {dan.queue!r} names unknown zvh {house!r}")
    for gemeente in als.gemeente or ():
        if gemeente not in zl_gemeenten:
            fout(f"{gemeente!r} is not a Zuid-Limburg gemeente in the register")
    for kenmerk in als.kenmerken or {}:
        if kenmerk not in produced:
            fout(f"kenmerk {kenmerk!r} is not derived by an earlier table")
    for product in als.deelname or {}:
        if product not in source.deelname.producten:
            fout(f"deelname: {product!r} is not a product of {DEELNAME}")
    for naam, values in (("leefgebieden", als.leefgebieden_bevat), ("ketens", als.ketens_bevat),
                         ("delict", als.delict)):
        for value in onbekende_ids(naam, values or ()):
            fout(f"{value!r} is not an id of the {naam} vocabulary (routing/data/signalen.yaml)")


def _validate_deelname(source: RulesetSource) -> list[Probleem]:
    problemen = []
    zl_gemeenten = source.register.zuid_limburg_gemeenten()
    for product in sorted(source.deelname.producten - source.producten):
        problemen.append(Probleem(DEELNAME, None, f"unknown product {product!r}"))
    for gemeente in sorted(source.deelname.gemeenten() - zl_gemeenten):
        problemen.append(Probleem(DEELNAME, None, f"{gemeente!r} is not a Zuid-Limburg gemeente "
                                  f"in the register"))
    return problemen


def _ambiguous_priorities(table: LoadedTable) -> list[Probleem]:
    """In a FIRST table, two rows that can meet the same melding must not share a priority."""
    if table.spec.hit_policy != "FIRST":
        return []
    found = []
    rules = table.rules
    for i, a in enumerate(rules):
        for b in rules[i + 1 :]:
            if a.rule.priority == b.rule.priority and can_meet(a.rule, b.rule):
                found.append(Probleem(
                    b.bestand, b.rule.id,
                    f"has the same priority {b.rule.priority} as {a.rule.id!r} ({a.bestand}) in "
                    f"FIRST table {table.spec.naam!r} and both can meet one melding: order is "
                    f"ambiguous"))
    return found
