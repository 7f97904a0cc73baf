"""Relevance over the demo catalogue: 30 queries a visitor might type, each with what a
person would expect among the first five results, written by hand from the records
(`mintsuche crawl --replay`, then reading the titles in the catalogue).

An expectation is either a list of offers (title, city) that must all be in the top 5, or a
pattern every one of the top 5 titles must match (when many offers fit equally well), and
for typos the "Meinten Sie …?" suggestion. The test prints the share of queries that meet
their expectation and asserts a floor; misses are listed, not hidden.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from catalog.search import Hit, SearchIndex, SearchQuery
from webapp.config import Settings


@dataclass
class Case:
    q: str
    offers: list[tuple[str, str]] = field(default_factory=list)  # (title, city)
    titles: str | None = None  # every top-5 title matches this pattern (case-insensitive)
    city: str | None = None  # every top-5 hit is in this city
    suggestion: str | None = None


CASES = [
    Case("Robotik", [("Robotik AG", "Lübeck"), ("Robotik Workshop", "Lörrach"),
                     ("Robotik für Mädchen", "Bremerhaven")]),
    Case("Roboter", [("Roberta-Roboterkurse", "Berlin"), ("zdi-Roboterwettbewerb", "Mülheim")]),
    Case("robtik", [("Robotik AG", "Lübeck"), ("Robotik Workshop", "Lörrach")],
         suggestion="Robotik"),
    Case("Schülerlabor Chemie", [("Schülerlabor Chemie", "Bremen"),
                                 ("ELAN: Schülerlabor für Chemie", "Berlin"),
                                 ("Schülerlabor Chemie & Natur", "Wuppertal")]),
    Case("Physik", titles=r"physik"),
    Case("Phisik", titles=r"physik", suggestion="Physik"),
    Case("Informatk", titles=r"informatik", suggestion="Informatik"),
    Case("Mädchen Informatik", [("MINT-Camp - Informatik bzw. Wirtschaftsinformatik für Mädchen",
                                 "Heidenheim an der Brenz")]),
    Case("Girls Day", titles=r"girls' ?day"),
    Case("Girls Day Heilbronn", [("Girls' Day Akademie Heilbronn", "Heilbronn"),
                                 ("Girls'Day Akademie", "Heilbronn")]),
    Case("Mathe", titles=r"math"),
    Case("Mathematik Wettbewerb", [("Bundeswettbewerb Mathematik", "Bonn"),
                                   ("Mathematikwettbewerb Känguru e.V.", "Berlin"),
                                   ("Mathematik-Olympiaden in Deutschland", "Bonn")]),
    Case("Feriencamp", titles=r"ferien|camp"),
    Case("Schnupperstudium", titles=r"schnupper"),
    Case("Mentoring", titles=r"mentor"),
    Case("Bionik", [("Bionik", "Mannheim"), ("Bionik-Camp", "München"), ("Bionik", "Leipzig")]),
    Case("Jugend forscht", [("Jugend forscht", "Hamburg"),
                            ("Jugend forscht BW / Löten, Schalten, Programmieren", "Lörrach"),
                            ("Profi von Anfang an - Jugend forscht - Projekte", "Berlin")]),
    Case("Lego", [("FIRST LEGO League", "Leipzig"), ("LEGO Mindstorms-Schulbesuch", "Deggendorf"),
                  ("lego::lab - Spielend zur Informatik", "Karlsruhe")]),
    Case("Energie", [("Energie im Wandel", "Mannheim"),
                     ("Schülerlabor Energie TUN", "Eggenstein-Leopoldshafen"),
                     ("Energie aus Sonne und Wind", "Mannheim")]),
    Case("Elektrotechnik", [("Schüler*innenlabor Elektrotechnik", "Meschede"),
                            ("Elektrotechnik", "Leipzig")]),
    Case("Geografie", [("Geografie", "Leipzig"), ("Geografie/Sachkunde", "Leipzig")]),
    Case("Museum", [("Deutsches Museum", "München"), ("Deutsches Technikmuseum Berlin", "Berlin"),
                    ("INSPIRATA Mitmach-Museum", "Leipzig")]),
    Case("Ada Lovelace", titles=r"ada.lovelace"),
    Case("Olympiade Chemie", [("Internationale ChemieOlympiade (IChO)", "Kiel")]),
    Case("3D-Druck", [('Sommerferienprogramm "3D-Druck"', "Eggenstein-Leopoldshafen")]),
    Case("Coding", [("Code Girls", "Leipzig"), ("Ready To Code", "Stuttgart")]),
    Case("Labor", titles=r"labor"),
    Case("Wald", [("Lebensraum Wald", "Leipzig")]),
    Case("Biologie", titles=r"biolog"),
    Case("Leipzig Umwelt", city="Leipzig"),
]  # fmt: skip

#: share of the cases met now: 29 of 30. The miss: "Roboter" ("Roberta-Roboterkurse"
#: comes 6th, behind titles that contain the word itself). "Energie" ("Energie aus Sonne
#: und Wind") came 6th until the dedupe rules of 2026-11-26 merged more of the Leipzig
#: listings that ranked above it.
FLOOR = 0.95


def misses(case: Case, hits: list[Hit], suggestion: str | None) -> list[str]:
    top = hits[:5]
    found = {(h.title, h.city or "") for h in top}
    out = [
        f"missing {title!r} ({city})" for title, city in case.offers if (title, city) not in found
    ]
    if case.titles is not None:
        out += [f"off-topic {h.title!r}" for h in top if not re.search(case.titles, h.title, re.I)]
        if len(top) < 5:
            out.append(f"only {len(top)} hits")
    if case.city is not None:
        out += [f"elsewhere {h.title!r} ({h.city})" for h in top if h.city != case.city]
    if case.suggestion is not None and suggestion != case.suggestion:
        out.append(f"suggestion {suggestion!r}, expected {case.suggestion!r}")
    return out


def test_thirty_cases() -> None:
    assert len(CASES) == 30
    assert len({c.q for c in CASES}) == 30
    assert all(c.offers or c.titles or c.city for c in CASES)


def test_relevance_on_the_demo_catalogue(demo_settings: Settings) -> None:
    index = SearchIndex.open(demo_settings.index_dir)
    failures = {}
    for case in CASES:
        result = index.search(SearchQuery(q=case.q, per_page=5))
        problems = misses(case, result.hits, result.suggestion)
        if problems:
            failures[case.q] = problems
    share = 1 - len(failures) / len(CASES)
    print(f"\nrelevance: {len(CASES) - len(failures)}/{len(CASES)} queries meet the expectation "
          f"({share:.0%})")  # fmt: skip
    for q, problems in failures.items():
        print(f"  {q!r}: {'; '.join(problems)}")
    assert share >= FLOOR, failures
