"""A synthetic but realistic year of Zuid-Limburg meldingen, reproducible from a seed.

Volumes come from the domain brief: Westelijke Mijnstreek in 2018 (seed 004)
had 140 PGA cases, 11 radicalisering, 13 huisverboden and 215
detentiemeldingen for about 145,000 inhabitants; the other houses are scaled
by population, and VIA adds about a dozen police meldingen a day for the
whole region. A small share of lines is resent (duplicates), broken, from
outside the region or without a gemeente, as real intake is. Signal values are
words of the vocabularies (routing/data/signalen.yaml), now and then spelled
the way a partner writes them ("Financiën", "schulden").

The past is the past as it was: a melding names a gemeente that existed on its
day, as the register has it (routing/data/gemeenten.yaml: Schinnen, Nuth and
Onderbanken until 2018, Beekdaelen from 2019), weighted by its inhabitants, and a
stream sends meldingen only from the day it started (`STROOM_SINDS`).

`Klok` is the recording clock of a simulated year: `loket demo` records each
event at the simulated moment it happened, so "as of" a day of that year shows
what the system knew then.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from functools import cache

from routing.gemeenten import default_register
from routing.tijd import NL

# Inhabitants: Parkstad from seed 001 (CBS 2024); the others rounded CBS figures, the former
# gemeenten in their last years (a synthetic year before a merger names them, not the merged one).
INWONERS: dict[str, int] = {
    "Heerlen": 87_461, "Kerkrade": 45_311, "Landgraaf": 37_112, "Beekdaelen": 35_896,
    "Brunssum": 27_770, "Voerendaal": 12_375, "Simpelveld": 10_255,
    "Sittard-Geleen": 91_000, "Stein": 24_700, "Beek": 15_700,
    "Maastricht": 122_000, "Eijsden-Margraten": 25_600, "Meerssen": 18_700,
    "Valkenburg aan de Geul": 16_300, "Gulpen-Wittem": 14_100, "Vaals": 9_800,
    # Beekdaelen from 2019-01-01; Schinnen was Westelijke Mijnstreek's (seed 004).
    "Nuth": 15_200, "Onderbanken": 7_800, "Schinnen": 12_900,
    # Eijsden-Margraten from 2011, Sittard-Geleen from 2001, Gulpen-Wittem from 1999.
    "Eijsden": 11_500, "Margraten": 13_500, "Sittard": 46_000, "Geleen": 33_500, "Born": 15_000,
    "Gulpen": 7_800, "Wittem": 7_800,
}
REGIO = sum(n for g, n in INWONERS.items() if g in default_register().gemeenten_op(date(2024, 1, 1)))
WM_2018 = sum(INWONERS[g] for g in ("Sittard-Geleen", "Stein", "Beek", "Schinnen"))  # seed 004's four
SCALE = REGIO / WM_2018
# Streams that began within the years a demo may simulate: none of their meldingen before.
STROOM_SINDS = {
    "via": date(2019, 8, 1),  # 003: the VIA "is in augustus 2019 gestart" (routing/rules/via.yaml)
    "wvggz": date(2020, 1, 1),  # the Wet verplichte ggz came into force (routing/rules/wvggz.yaml)
}

# Place names people still write: former gemeenten now part of one of the 16.
PLAATSNAMEN = {"Beekdaelen": ["Schinnen", "Nuth", "Onderbanken"], "Sittard-Geleen": ["Geleen", "Born"],
               "Heerlen": ["Hoensbroek"], "Eijsden-Margraten": ["Eijsden", "Margraten"]}
BUITEN_REGIO = ["Venlo", "Roermond", "Weert", "Eindhoven", "Echt-Susteren"]

LEEFGEBIEDEN = ["wonen", "financien", "psychisch", "verslaving", "werk", "gezin", "justitie", "gezondheid"]
KETENS = ["zorg", "straf", "veiligheid", "jeugd", "sociaal"]
# The five basisvoorwaarden of nazorg (002), as leefgebieden, and what often comes with them.
NAZORG_LEEFGEBIEDEN = ["wonen", "werk", "financien", "gezondheid", "id-bewijs", "verslaving"]
# A young person's delicts (002 Preventie met Gezag, 004 ZSM).
DELICTEN_JONG = ["diefstal", "vernieling", "drugs", "overval", "wapens", "woninginbraak"]
# How partners write some ids; the contract reads each as its id.
SPELLINGEN = {"financien": ["Financiën", "schulden"], "wonen": ["Wonen", "huisvesting"],
              "psychisch": ["GGZ", "Psychisch"], "verslaving": ["middelengebruik"],
              "zorg": ["Zorg", "hulpverlening"], "straf": ["strafrecht"], "zwaar-geweld": ["zwaar geweld"],
              "zeden": ["zedendelict"]}

# Yearly volume per soort for the whole region (see module doc for the derivation).
VOLUMES: dict[str, int] = {
    "via": 4_200,
    "aanmelding": round(140 * SCALE * 1.2),  # PGA plus the requests that end as C&A
    "zsm-buikpijn": round(60 * SCALE),
    "detentie-in": round(95 * SCALE),
    "detentie-uit": round(95 * SCALE),
    "art18": round(25 * SCALE),
    "radicalisering": round(11 * SCALE),
    "huisverbod": round(13 * SCALE),
    "vt-routeertafel": round(70 * SCALE),
    "wvggz": round(55 * SCALE),
    "mensenhandel": round(9 * SCALE),
    "jpp": 150,
}
BRON = {
    "via": "politie", "aanmelding": None, "zsm-buikpijn": "zsm", "detentie-in": "dji",
    "detentie-uit": "dji", "art18": "dji", "radicalisering": "politie", "huisverbod": "gemeente",
    "vt-routeertafel": "veilig-thuis", "wvggz": "gemeente", "mensenhandel": "politie", "jpp": "politie",
}
AANMELDERS = ["gemeente", "om", "reclassering", "ketenpartner", "politie"]
DELICTEN_ART18 = ["zeden", "zwaar-geweld", "tbs", "diefstal", "drugs", "mishandeling"]


def bsn(rng: random.Random) -> str:
    """A number that passes the elfproef (synthetic; not issued to anyone we know of)."""
    while True:
        digits = [rng.randint(0, 9) for _ in range(8)]
        rest = sum(d * w for d, w in zip(digits, range(9, 1, -1), strict=True)) % 11
        if rest < 10 and digits[0] != 0:
            return "".join(map(str, digits)) + str(rest)


class Klok:
    """The recording clock of a simulated year (events/application.py, `Klok`): it stands where
    the simulation set it, and like a real clock it never runs backwards."""

    def __init__(self, begin: datetime) -> None:
        self._nu = begin.astimezone(UTC)

    def __call__(self) -> datetime:
        return self._nu

    def zet(self, moment: datetime) -> None:
        moment = moment.astimezone(UTC)
        if moment < self._nu:
            raise ValueError(f"the recording clock stands at {self._nu.isoformat()}; it does not run back "
                             f"to {moment.isoformat()}")
        self._nu = moment


@cache
def gemeenten_op(day: date) -> tuple[dict[str, str], tuple[str, ...], tuple[int, ...]]:
    """The gemeenten of the register on a day (with their house), and their inhabitants as weights."""
    gemeenten = default_register().gemeenten_op(day)
    zonder = sorted(set(gemeenten) - set(INWONERS))
    if zonder:
        raise ValueError(f"no inhabitants known for {', '.join(zonder)} ({day.year}): "
                         "add them to INWONERS in loket/synthetic.py")
    namen = tuple(sorted(gemeenten))
    return gemeenten, namen, tuple(INWONERS[g] for g in namen)


def kies_gemeente(rng: random.Random, day: date) -> str:
    """A gemeente of that day, as likely as its share of the inhabitants."""
    _, namen, gewichten = gemeenten_op(day)
    return rng.choices(namen, gewichten)[0]


class _Jaar:
    def __init__(self, year: int, rng: random.Random, volumes: dict[str, int]):
        self.year, self.rng, self.volumes = year, rng, volumes
        self.stapels: dict[tuple[str, tuple[str, ...]], list[str]] = {}

    def moment(self, soort: str) -> datetime:
        start = max(date(self.year, 1, 1), STROOM_SINDS.get(soort, date.min))
        days = (date(self.year + 1, 1, 1) - start).days
        day = start + timedelta(days=self.rng.randrange(days))
        clock = time(self.rng.randint(7, 20), self.rng.randrange(60))
        return datetime.combine(day, clock, NL)

    def gemeente(self, soort: str, day: date) -> str | None:
        r = self.rng.random()
        if r < 0.01:
            return self.rng.choice(BUITEN_REGIO)
        if r < 0.015:
            return None
        naam = self.uit_de_stapel(soort, day)
        if naam in PLAATSNAMEN and self.rng.random() < 0.1:
            return self.rng.choice(PLAATSNAMEN[naam])
        return naam

    def uit_de_stapel(self, soort: str, day: date) -> str:
        """The gemeente of the next melding of a soort: drawn from a shuffled stack that holds each
        gemeente of the day as often as its share of the inhabitants gives it in the year's volume
        (largest remainders), so a house's figures follow its population as a year's report would,
        not the luck of the draw. JPP is Parkstad's. An empty stack draws by weight."""
        gemeenten, namen, gewichten = gemeenten_op(day)
        if soort == "jpp":
            namen, gewichten = zip(*((g, w) for g, w in zip(namen, gewichten, strict=True)
                                     if gemeenten[g] == "parkstad"), strict=True)
        stapel = self.stapels.get((soort, namen))
        if stapel is None:
            stapel = self.stapels[(soort, namen)] = _stapel(namen, gewichten, self.volumes[soort], self.rng)
        return stapel.pop() if stapel else self.rng.choices(namen, gewichten)[0]

    def leeftijd(self, soort: str) -> int:
        ages = {"jpp": (10, 17), "detentie-in": (16, 60), "detentie-uit": (16, 60), "art18": (19, 65)}
        low, high = ages.get(soort, (14, 80))
        return self.rng.randint(low, high)

    def geboortedatum(self, moment: datetime, age: int) -> str:
        born = moment.date() - timedelta(days=age * 365 + self.rng.randrange(365))
        return born.isoformat()

    def gespeld(self, woord: str) -> str:
        """Mostly the id; now and then the way a partner writes it."""
        if woord in SPELLINGEN and self.rng.random() < 0.08:
            return self.rng.choice(SPELLINGEN[woord])
        return woord

    def signalen(self, soort: str, leeftijd: int) -> dict:
        rng = self.rng
        s: dict = {}
        if soort in ("aanmelding", "zsm-buikpijn", "vt-routeertafel"):
            complex_case = rng.random() < (0.65 if soort == "aanmelding" else 0.45)
            n_leef = rng.randint(2, 4) if complex_case else rng.randint(0, 1)
            s["leefgebieden"] = rng.sample(LEEFGEBIEDEN, n_leef)
            s["ketens"] = rng.sample(KETENS, rng.randint(2, 3) if complex_case else 1)
            s["dwang_drang"] = complex_case or rng.random() < 0.1
            s["impact_omgeving"] = complex_case or rng.random() < 0.3
            s["ernstig_veiligheidsprobleem"] = rng.random() < 0.04
            s["maatschappelijke_onrust"] = complex_case and rng.random() < 0.05
            s["kinderen_betrokken"] = soort == "vt-routeertafel" or rng.random() < 0.2
            if soort == "aanmelding":
                s.update(self.aanmelding(leeftijd))
        elif soort == "via":
            s["bollenmodel"] = rng.choices(["I", "II", "III", "IV"], [40, 35, 18, 7])[0]
        elif soort in ("detentie-in", "detentie-uit", "art18"):
            s["hic"] = rng.random() < 0.2
            s["leefgebieden"] = rng.sample(NAZORG_LEEFGEBIEDEN, rng.randint(0, 3))
            s["veelpleger"] = rng.random() < 0.15
            if soort == "art18":
                s["delict"] = rng.choice(DELICTEN_ART18)
        for lijst in ("leefgebieden", "ketens"):
            if lijst in s:
                s[lijst] = [self.gespeld(w) for w in s[lijst]]
        if "delict" in s:
            s["delict"] = self.gespeld(s["delict"])
        return s

    def aanmelding(self, leeftijd: int) -> dict:
        """What an aanmelding says beyond the criteria: a young person's delict, a hulpverlener
        asking for the beschermingstafel, verward gedrag in the bollenmodel."""
        rng = self.rng
        s: dict = {}
        if leeftijd <= 27 and rng.random() < 0.25:
            s["delict"] = rng.choice(DELICTEN_JONG)
            s["hic"] = rng.random() < 0.3
        if leeftijd < 18 and rng.random() < 0.3:
            s["verzoek_beschermingstafel"] = True
        if rng.random() < 0.08:
            s["bollenmodel"] = rng.choice(["III", "IV"])
        return s

    def melding(self, soort: str, nummer: int) -> dict:
        moment = self.moment(soort)
        bron = BRON[soort] or self.rng.choice(AANMELDERS)
        leeftijd = self.leeftijd(soort)
        melding = {
            "bron": bron,
            "soort": soort,
            "kenmerk": f"{soort.upper()}-{self.year}-{nummer:06d}",
            "ontvangen_op": moment.isoformat(timespec="seconds"),
            "gemeente": self.gemeente(soort, moment.date()),
            "persoon": {
                "bsn": bsn(self.rng),
                "naam": f"Persoon {nummer}",
                "geboortedatum": self.geboortedatum(moment, leeftijd),
            },
            "signalen": self.signalen(soort, leeftijd),
            "toelichting": "synthetische melding",
        }
        return melding


def _stapel(namen: tuple[str, ...], gewichten: tuple[int, ...], n: int, rng: random.Random) -> list[str]:
    totaal = sum(gewichten)
    quota = [n * w / totaal for w in gewichten]
    aantallen = [int(q) for q in quota]
    for i in sorted(range(len(namen)), key=lambda i: quota[i] - aantallen[i], reverse=True)[: n - sum(aantallen)]:
        aantallen[i] += 1
    stapel = [naam for naam, k in zip(namen, aantallen, strict=True) for _ in range(k)]
    rng.shuffle(stapel)
    return stapel


def _broken(rng: random.Random, line: str) -> str:
    """The faults intake really sees: a cut-off line, a date in words, an unknown soort."""
    data = json.loads(line)
    kind = rng.randrange(3)
    if kind == 0:
        return line[: len(line) // 2]
    if kind == 1:
        data["ontvangen_op"] = "gisteren"
    else:
        data["soort"] = "onbekend"
    return json.dumps(data, ensure_ascii=False)


def _deel_van_het_jaar(soort: str, year: int) -> float:
    """The share of the year a stream ran (VIA in 2019: from August on)."""
    start = max(date(year, 1, 1), STROOM_SINDS.get(soort, date.min))
    return max(0, (date(year + 1, 1, 1) - start).days) / (date(year + 1, 1, 1) - date(year, 1, 1)).days


def jaar(year: int = 2025, seed: int = 2025, scale: float = 1.0) -> Iterator[str]:
    """JSON lines of one year of meldingen, in arrival order, with resends and faults."""
    rng = random.Random(seed)
    volumes = {soort: max(1, round(volume * _deel_van_het_jaar(soort, year) * scale))
               for soort, volume in VOLUMES.items() if date(year, 12, 31) >= STROOM_SINDS.get(soort, date.min)}
    gen = _Jaar(year, rng, volumes)
    meldingen = [gen.melding(soort, i) for soort, volume in volumes.items() for i in range(1, volume + 1)]
    meldingen.sort(key=lambda m: datetime.fromisoformat(m["ontvangen_op"]))
    for melding in meldingen:
        line = json.dumps(melding, ensure_ascii=False)
        r = rng.random()
        if r < 0.004:
            yield _broken(rng, line)
            continue
        yield line
        if r < 0.014:
            yield line  # resent by the source: one melding, not two
