"""Read a ruleset directory, validate it as a whole, and fingerprint it.

The version is `<ruleset name>@<12 hex of sha256>` over every file that can change a decision:
the manifest, the rule files and the gemeente register. Two loket instances with the same version
decide identically; an audit can tell which rules were in force by the version on the decision.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import yaml
from pydantic import ValidationError

from routing.gemeenten import DEFAULT_PATH as DEFAULT_REGISTER
from routing.gemeenten import GemeenteRegister, RegisterError
from routing.schema import Manifest, Rule, RuleFile, TableSpec

DEFAULT_DIRECTORY = Path(__file__).parent / "rules"
MANIFEST = "ruleset.yaml"
REGISTER = "gemeenten.yaml"


class RulesetError(ValueError):
    """A ruleset that cannot be used; the message names the file and, where known, the rule."""


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
    producten: frozenset[str]
    labels: frozenset[str]
    files: tuple[str, ...]


def read_ruleset(directory: Path | None = None) -> RulesetSource:
    directory = Path(directory) if directory is not None else DEFAULT_DIRECTORY
    manifest_path = directory / MANIFEST
    if not manifest_path.is_file():
        raise RulesetError(f"{directory}: no {MANIFEST} (ruleset name and tables)")
    manifest = _parse(manifest_path, Manifest)
    register_path = directory / REGISTER if (directory / REGISTER).is_file() else DEFAULT_REGISTER
    try:
        register = GemeenteRegister.from_yaml(register_path)
    except RegisterError as exc:
        raise RulesetError(str(exc)) from exc

    rule_paths = sorted(p for p in directory.glob("*.yaml") if p.name not in (MANIFEST, REGISTER))
    if not rule_paths:
        raise RulesetError(f"{directory}: no rule files")
    specs = {t.naam: t for t in manifest.tabellen}
    if len(specs) != len(manifest.tabellen):
        raise RulesetError(f"{MANIFEST}: a table name is declared twice")
    rows: dict[str, list[LoadedRule]] = {name: [] for name in specs}
    for path in rule_paths:
        for loaded in _read_rule_file(path, specs):
            rows[loaded.tabel].append(loaded)

    tables = tuple(_table(specs[name], tuple(rows[name])) for name in specs)
    source = RulesetSource(
        name=manifest.ruleset,
        version=f"{manifest.ruleset}@{_fingerprint([manifest_path, *rule_paths, register_path])}",
        tables=tables,
        register=register,
        producten=frozenset(manifest.producten),
        labels=frozenset(manifest.labels),
        files=tuple(p.name for p in rule_paths),
    )
    _validate(source)
    return source


def _fingerprint(paths: list[Path]) -> str:
    digest = hashlib.sha256()
    for path in paths:
        digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:12]


def _load_yaml(path: Path):
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise RulesetError(f"{path.name}: invalid YAML: {exc}") from exc


def _parse(path: Path, model):
    try:
        return model.model_validate(_load_yaml(path))
    except ValidationError as exc:
        raise RulesetError(f"{path.name}: {_errors(exc)}") from exc


def _errors(exc: ValidationError) -> str:
    return "; ".join(
        f"{'.'.join(str(p) for p in err['loc']) or '(top)'}: {err['msg']}" for err in exc.errors()
    )


def _read_rule_file(path: Path, specs: dict[str, TableSpec]) -> list[LoadedRule]:
    rule_file = _parse(path, RuleFile)
    spec = specs.get(rule_file.tabel)
    if spec is None:
        raise RulesetError(f"{path.name}: table {rule_file.tabel!r} is not in {MANIFEST}")
    if spec.hit_policy != rule_file.hit_policy:
        raise RulesetError(f"{path.name}: hit_policy {rule_file.hit_policy} but {MANIFEST} "
                           f"declares {spec.hit_policy} for table {spec.naam!r}")
    loaded = []
    for index, raw in enumerate(rule_file.rules):
        name = raw.get("id", f"#{index + 1}") if isinstance(raw, dict) else f"#{index + 1}"
        try:
            rule = Rule.model_validate(raw)
        except ValidationError as exc:
            raise RulesetError(f"{path.name}: rule {name!r}: {_errors(exc)}") from exc
        loaded.append(LoadedRule(rule, spec.naam, path.name))
    return loaded


def _table(spec: TableSpec, rules: tuple[LoadedRule, ...]) -> LoadedTable:
    derives = [r for r in rules if r.rule.dan.kenmerken]
    return LoadedTable(spec, rules, afleiding=bool(derives) and len(derives) == len(rules))


def _validate(source: RulesetSource) -> None:
    seen: dict[str, str] = {}
    produced: set[str] = set()
    zl_gemeenten = source.register.zuid_limburg_gemeenten()
    for table in source.tables:
        for loaded in table.rules:
            where = f"{loaded.bestand}: rule {loaded.rule.id!r}"
            if loaded.rule.id in seen:
                raise RulesetError(f"{where}: id also used in {seen[loaded.rule.id]}")
            seen[loaded.rule.id] = loaded.bestand
            _validate_rule(loaded, table, source, zl_gemeenten, produced, where)
        if table.afleiding:
            if table.spec.hit_policy != "COLLECT":
                raise RulesetError(f"{MANIFEST}: derivation table {table.spec.naam!r} must be "
                                   f"COLLECT: every kenmerk that holds is derived")
            produced |= {k for r in table.rules for k in r.rule.dan.kenmerken}
        _validate_priorities(table)


def _validate_rule(loaded, table, source, zl_gemeenten, produced, where) -> None:
    als, dan = loaded.rule.als, loaded.rule.dan
    if dan.kenmerken and not table.afleiding:
        raise RulesetError(f"{where}: kenmerken may only be produced in a table whose rows all "
                           f"derive kenmerken (a derivation table)")
    if table.afleiding and (dan.outcome or dan.product or dan.labels or dan.notify or dan.queue
                            or dan.deadline_dagen is not None):
        raise RulesetError(f"{where}: a derivation row only produces kenmerken")
    if table.spec.hit_policy == "COLLECT" and (dan.outcome or dan.product or dan.queue
                                               or dan.deadline_dagen is not None):
        raise RulesetError(f"{where}: a COLLECT row may add labels, notify or kenmerken, "
                           f"not outcome, product, queue or deadline")
    for product in (dan.product, *(als.product or ())):
        if product is not None and product not in source.producten:
            raise RulesetError(f"{where}: unknown product {product!r}")
    for label in dan.labels:
        if label not in source.labels:
            raise RulesetError(f"{where}: unknown label {label!r}")
    for zvh in als.zvh or ():
        if zvh not in source.register.zvh_namen:
            raise RulesetError(f"{where}: unknown zvh {zvh!r}")
    for gemeente in als.gemeente or ():
        if gemeente not in zl_gemeenten:
            raise RulesetError(
                f"{where}: {gemeente!r} is not a Zuid-Limburg gemeente in the register")
    for kenmerk in als.kenmerken or {}:
        if kenmerk not in produced:
            raise RulesetError(f"{where}: kenmerk {kenmerk!r} is not derived by an earlier table")


def _validate_priorities(table: LoadedTable) -> None:
    """In a FIRST table, two rows that can meet the same melding must not share a priority."""
    if table.spec.hit_policy != "FIRST":
        return
    rules = table.rules
    for i, a in enumerate(rules):
        for b in rules[i + 1 :]:
            if a.rule.priority == b.rule.priority and _can_overlap(a.rule, b.rule):
                raise RulesetError(
                    f"{b.bestand}: rule {b.rule.id!r} has the same priority {b.rule.priority} as "
                    f"{a.rule.id!r} ({a.bestand}) in FIRST table {table.spec.naam!r}: "
                    f"order is ambiguous"
                )


def _can_overlap(a: Rule, b: Rule) -> bool:
    if a.als.soort is not None and b.als.soort is not None:
        if not set(a.als.soort) & set(b.als.soort):
            return False
    a_van, a_tot = a.geldig_van or date.min, a.geldig_tot or date.max
    b_van, b_tot = b.geldig_van or date.min, b.geldig_tot or date.max
    return a_van <= b_tot and b_van <= a_tot
