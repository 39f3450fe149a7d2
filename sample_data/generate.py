"""Generate `sample_data/store.db`: a realistic, deterministic `@deepagents/evals` RunStore.

    python sample_data/generate.py

The store has exactly the package's schema (`PACKAGE_SCHEMA`) and holds:

* suite `qa-accuracy`: 300 QA items, scorers `exact`, `levenshtein` and `factuality`, runs made
  by the web runner (so `runs.config` is set):
  - `qa-accuracy [claude-sonnet-4-5]`: completed, prompt qa-system v2, about 85% pass
  - `qa-accuracy [gpt-4o-mini]`: completed, prompt v3 (shows its working on arithmetic and
    unit conversions), a clear regression at about 60% pass, with provider errors (an Error
    with a `cause`) and 30 s timeouts
  - `qa-accuracy [gpt-4o-mini]`: completed re-run of that config, differing only by noise
  - `qa-accuracy [broken-model]`: failed after 3 saved cases (summary NULL)
  - `qa-accuracy [o3-mini]`: still running, 40 cases saved and the last one not yet scored
* suite `support-triage` from `evaluate()` with two models (config NULL, same `started_at`):
  250 tickets in en/de/fr/es, scorers `exact` and `includes`
* a second suite `support-triage`: the `.failed()` retry of the gpt-4o-mini run, idx renumbered
* prompts `qa-system` v1-v3 and `intent-classifier` v1-v2
* evaltui's own trace tables (`evaltui_*`, written by `evaltui.services.ingest.sample`): an agent
  trace (agent -> llm -> tool -> retriever, some errored spans, span-level scores) for every
  case of the regressed `qa-accuracy [gpt-4o-mini]` run, and one trace of 10,000 spans on its
  first case
* hostile data in the qa runs: Rich markup, ANSI and OSC 52 escapes, a markdown table, a 40 KB
  answer, CJK and emoji, square brackets in reasons, a plain-text (non-JSON) error and an
  object-valued `expected`

Everything comes from one `random.Random(20261121)` and fixed timestamps (epoch ms from
2026-11-01T09:00:00Z), so two runs give identical table contents. Rows are inserted in the
order a concurrent engine would complete them; every completed run's summary is what the
package's `getRunSummary` SQL returns at the run's threshold.
"""

from __future__ import annotations

import heapq
import json
import random
import sqlite3
import sys
import unicodedata
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from evaltui.services.ingest.sample import write_sample_traces  # noqa: E402
from evaltui.store import writer  # noqa: E402
from evaltui.store.schema import PACKAGE_SCHEMA  # noqa: E402

OUT = ROOT / "sample_data" / "store.db"
SEED = 20261121
# The regressed `qa-accuracy [gpt-4o-mini]` run (its id follows from SEED): it gets the traces.
TRACED_RUN = "b18d5fc4-d541-4e81-b5f4-a5dc0cc57d2f"
TRACES_IMPORTED_AT = 1_794_052_800_000  # 2026-11-07T12:00:00Z
BASE_MS = int(datetime(2026, 11, 1, 9, 0, tzinfo=UTC).timestamp() * 1000)
SEC, MIN, HOUR, DAY = 1_000, 60_000, 3_600_000, 86_400_000

QA_SCORERS = ("exact", "levenshtein", "factuality")
TRIAGE_SCORERS = ("exact", "includes")
QA_SIZE = 300
TRIAGE_SIZE = 250
TIMEOUT_MS = 30_000

Json = Any
Score = tuple[str, float, str | None]

# ------------------------------------------------------------------------- JSON like JavaScript


def js_number(x: float) -> str:
    """`String(x)` / `JSON.stringify(x)` for a finite double, as JavaScript prints it."""
    if x == 0:
        return "0"
    if x.is_integer() and abs(x) < 1e21:
        return str(int(x))
    sign = "-" if x < 0 else ""
    mantissa, _, exp = repr(abs(x)).partition("e")
    whole, _, frac = mantissa.partition(".")
    digits = whole + frac
    point = len(whole) + int(exp or 0)
    stripped = digits.lstrip("0")
    point -= len(digits) - len(stripped)
    digits = stripped.rstrip("0")
    k, n = len(digits), point
    if k <= n <= 21:
        return sign + digits + "0" * (n - k)
    if 0 < n <= 21:
        return sign + digits[:n] + "." + digits[n:]
    if -6 < n <= 0:
        return sign + "0." + "0" * -n + digits
    e = n - 1
    tail = "." + digits[1:] if k > 1 else ""
    return f"{sign}{digits[0]}{tail}e{'+' if e > 0 else '-'}{abs(e)}"


def to_json(value: Json) -> str:
    """`JSON.stringify(value)`: compact, non-ASCII kept, numbers printed the JavaScript way."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return js_number(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, dict):
        return "{" + ",".join(f"{to_json(str(k))}:{to_json(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list | tuple):
        return "[" + ",".join(to_json(v) for v in value) + "]"
    raise TypeError(f"not JSON: {value!r}")


def js_string(value: Json) -> str:
    """`expected == null ? "" : String(expected)`, as the package's string scorers do."""
    if value is None:
        return ""
    if isinstance(value, dict):
        return "[object Object]"
    if isinstance(value, float):
        return js_number(value)
    return str(value)


# ------------------------------------------------------------------------------------ scorers


def _utf16(text: str) -> list[int]:
    raw = text.encode("utf-16-le")
    return [raw[i] | raw[i + 1] << 8 for i in range(0, len(raw), 2)]


def _edit_distance(a: Sequence[int], b: Sequence[int]) -> int:
    if len(a) < len(b):
        a, b = b, a
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i]
        for j, cb in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
        previous = current
    return previous[-1]


def levenshtein(output: str, expected: Json) -> float:
    """autoevals Levenshtein over UTF-16 code units: 1 - distance / longest, 1 when both empty."""
    a, b = _utf16(output), _utf16(js_string(expected))
    longest = max(len(a), len(b))
    if longest == 0:
        return 1.0
    return min(1.0, max(0.0, 1 - _edit_distance(a, b) / longest))


def exact_match(output: str, expected: Json) -> tuple[float, str | None]:
    exp = js_string(expected)
    if output == exp:
        return 1.0, None
    return 0.0, f'Output does not exactly match expected. Expected "{exp}" but got "{output}".'


def includes(output: str, expected: Json) -> tuple[float, str | None]:
    exp = js_string(expected)
    if exp in output:
        return 1.0, None
    return 0.0, f'Output does not include expected substring "{exp}".'


# ----------------------------------------------------------------------------------- helpers


def new_id(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def ascii_fold(text: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))


def pick(rng: random.Random, weights: dict[str, float]) -> str:
    return rng.choices(list(weights), weights=list(weights.values()))[0]


# --------------------------------------------------------------------------------- QA dataset


@dataclass
class QAItem:
    question: str
    expected: Json
    category: str
    sentence: str  # the answer stated as a sentence; "{a}" is replaced by the answer
    wrong: list[str]  # plausible wrong answers
    working: str = ""  # the working a "show your steps" prompt produces (math, units)
    key: str = ""  # names the items that hostile outputs attach to

    @property
    def answer(self) -> str:
        return js_string(self.expected)

    def record(self) -> dict[str, Json]:
        return {"input": self.question, "expected": self.expected, "category": self.category}


CAPITALS: list[tuple[str, str, list[str]]] = [
    ("France", "Paris", ["Lyon", "Marseille"]),
    ("Germany", "Berlin", ["Munich", "Bonn"]),
    ("Italy", "Rome", ["Milan"]),
    ("Spain", "Madrid", ["Barcelona"]),
    ("Portugal", "Lisbon", ["Porto"]),
    ("Australia", "Canberra", ["Sydney", "Melbourne"]),
    ("Canada", "Ottawa", ["Toronto", "Montreal"]),
    ("Brazil", "Brasília", ["Rio de Janeiro", "São Paulo"]),
    ("Japan", "Tokyo", ["Kyoto", "Osaka"]),
    ("China", "Beijing", ["Shanghai"]),
    ("India", "New Delhi", ["Mumbai"]),
    ("Turkey", "Ankara", ["Istanbul"]),
    ("Switzerland", "Bern", ["Zurich", "Geneva"]),
    ("New Zealand", "Wellington", ["Auckland"]),
    ("Nigeria", "Abuja", ["Lagos"]),
    ("Morocco", "Rabat", ["Casablanca", "Marrakesh"]),
    ("Pakistan", "Islamabad", ["Karachi", "Lahore"]),
    ("Vietnam", "Hanoi", ["Ho Chi Minh City"]),
    ("Egypt", "Cairo", ["Alexandria"]),
    ("Kenya", "Nairobi", ["Mombasa"]),
    ("Argentina", "Buenos Aires", ["Córdoba"]),
    ("Chile", "Santiago", ["Valparaíso"]),
    ("Peru", "Lima", ["Cusco"]),
    ("Colombia", "Bogotá", ["Medellín"]),
    ("Mexico", "Mexico City", ["Guadalajara"]),
    ("Norway", "Oslo", ["Bergen"]),
    ("Sweden", "Stockholm", ["Gothenburg"]),
    ("Finland", "Helsinki", ["Turku"]),
    ("Denmark", "Copenhagen", ["Aarhus"]),
    ("Poland", "Warsaw", ["Kraków"]),
    ("Austria", "Vienna", ["Salzburg"]),
    ("Hungary", "Budapest", ["Debrecen"]),
    ("Czech Republic", "Prague", ["Brno"]),
    ("Greece", "Athens", ["Thessaloniki"]),
    ("Ireland", "Dublin", ["Cork"]),
    ("Netherlands", "Amsterdam", ["The Hague", "Rotterdam"]),
    ("Belgium", "Brussels", ["Antwerp"]),
    ("Ukraine", "Kyiv", ["Kharkiv", "Lviv"]),
    ("South Korea", "Seoul", ["Busan"]),
    ("Thailand", "Bangkok", ["Chiang Mai"]),
    ("Indonesia", "Jakarta", ["Surabaya"]),
    ("Philippines", "Manila", ["Quezon City", "Cebu"]),
    ("Malaysia", "Kuala Lumpur", ["Putrajaya"]),
    ("Saudi Arabia", "Riyadh", ["Jeddah", "Mecca"]),
    ("Iceland", "Reykjavík", ["Akureyri"]),
    ("Tanzania", "Dodoma", ["Dar es Salaam"]),
    ("Kazakhstan", "Astana", ["Almaty"]),
    ("Myanmar", "Naypyidaw", ["Yangon"]),
    ("Ghana", "Accra", ["Kumasi"]),
    ("Ethiopia", "Addis Ababa", ["Dire Dawa"]),
    ("Cuba", "Havana", ["Santiago de Cuba"]),
    ("Mongolia", "Ulaanbaatar", ["Erdenet"]),
    ("Nepal", "Kathmandu", ["Pokhara"]),
    ("United States", "Washington, D.C.", ["New York City"]),
    ("Scotland", "Edinburgh", ["Glasgow"]),
]

CONTINENTS: list[tuple[str, str]] = [
    ("Kenya", "Africa"),
    ("Peru", "South America"),
    ("Mongolia", "Asia"),
    ("Iceland", "Europe"),
    ("Ghana", "Africa"),
    ("Nepal", "Asia"),
    ("Chile", "South America"),
    ("Finland", "Europe"),
    ("Cuba", "North America"),
    ("Egypt", "Africa"),
]

ELEMENTS: list[tuple[str, str, str]] = [
    ("gold", "Au", "Ag"),
    ("silver", "Ag", "Si"),
    ("iron", "Fe", "Ir"),
    ("lead", "Pb", "Le"),
    ("sodium", "Na", "So"),
    ("potassium", "K", "P"),
    ("copper", "Cu", "Co"),
    ("tin", "Sn", "Ti"),
    ("mercury", "Hg", "Me"),
    ("tungsten", "W", "Tu"),
    ("helium", "He", "H"),
    ("neon", "Ne", "N"),
    ("oxygen", "O", "Ox"),
    ("nitrogen", "N", "Ni"),
    ("carbon", "C", "Ca"),
    ("hydrogen", "H", "Hy"),
    ("calcium", "Ca", "C"),
    ("magnesium", "Mg", "Mn"),
    ("zinc", "Zn", "Zi"),
    ("chlorine", "Cl", "Ch"),
    ("sulfur", "S", "Su"),
    ("phosphorus", "P", "Ph"),
    ("uranium", "U", "Ur"),
    ("platinum", "Pt", "Pl"),
    ("nickel", "Ni", "N"),
    ("aluminium", "Al", "Am"),
    ("silicon", "Si", "Sc"),
    ("argon", "Ar", "A"),
    ("lithium", "Li", "L"),
    ("antimony", "Sb", "An"),
    ("iodine", "I", "Io"),
    ("fluorine", "F", "Fl"),
]

HISTORY_YEARS: list[tuple[str, int]] = [
    ("did the Berlin Wall fall", 1989),
    ("did World War II end", 1945),
    ("did Apollo 11 land on the Moon", 1969),
    ("did the Titanic sink", 1912),
    ("did the French Revolution begin", 1789),
    ("did Columbus first reach the Americas", 1492),
    ("was the US Declaration of Independence signed", 1776),
    ("did the Soviet Union dissolve", 1991),
    ("did World War I begin", 1914),
    ("was the Magna Carta sealed", 1215),
    ("did Nelson Mandela become President of South Africa", 1994),
    ("did euro banknotes and coins enter circulation", 2002),
    ("did the Wright brothers make their first powered flight", 1903),
    ("did the Battle of Hastings take place", 1066),
    ("did the Chernobyl disaster happen", 1986),
    ("did the Wall Street Crash that began the Great Depression happen", 1929),
    ("did India gain independence", 1947),
    ("did the first iPhone go on sale", 2007),
    ("was the Treaty of Versailles signed", 1919),
    ("did the Great Fire of London happen", 1666),
    ("did the American Civil War end", 1865),
    ("did Germany reunify", 1990),
    ("did Yuri Gagarin become the first human in space", 1961),
    ("did the Suez Canal open", 1869),
    ("did the Eiffel Tower open", 1889),
    ("did Tim Berners-Lee propose the World Wide Web", 1989),
    ("was the United Nations founded", 1945),
    ("did Constantinople fall to the Ottomans", 1453),
    ("was the Battle of Waterloo fought", 1815),
    ("did the Cuban Missile Crisis take place", 1962),
    ("was the Good Friday Agreement signed", 1998),
    ("did the Channel Tunnel open", 1994),
    ("was Sputnik 1 launched", 1957),
    ("did the Hubble Space Telescope launch", 1990),
    ("did the Russian Revolution take place", 1917),
]

HISTORY_PEOPLE: list[tuple[str, str, str]] = [
    ("Who was the first person to walk on the Moon?", "Neil Armstrong", "Buzz Aldrin"),
    ("Who was the first President of the United States?", "George Washington", "John Adams"),
    ("Who was the first woman to win a Nobel Prize?", "Marie Curie", "Irène Joliot-Curie"),
    ("Who painted the Mona Lisa?", "Leonardo da Vinci", "Michelangelo"),
    ("Who developed the theory of general relativity?", "Albert Einstein", "Max Planck"),
    ("Who led the Bolsheviks in the October Revolution?", "Vladimir Lenin", "Leon Trotsky"),
    ("Who was the first Emperor of Rome?", "Augustus", "Julius Caesar"),
    ("Who proposed the theory of evolution by natural selection?", "Charles Darwin", "Lamarck"),
    ("Who invented the telephone?", "Alexander Graham Bell", "Thomas Edison"),
    (
        "Who was the British Prime Minister for most of World War II?",
        "Winston Churchill",
        "Neville Chamberlain",
    ),
    ("Who wrote the 95 Theses?", "Martin Luther", "John Calvin"),
    ("Who discovered penicillin?", "Alexander Fleming", "Louis Pasteur"),
]

BOOKS: list[tuple[str, str, str]] = [
    ("Pride and Prejudice", "Jane Austen", "Charlotte Brontë"),
    ("1984", "George Orwell", "Aldous Huxley"),
    ("War and Peace", "Leo Tolstoy", "Fyodor Dostoevsky"),
    ("One Hundred Years of Solitude", "Gabriel García Márquez", "Jorge Luis Borges"),
    ("The Great Gatsby", "F. Scott Fitzgerald", "Ernest Hemingway"),
    ("Moby-Dick", "Herman Melville", "Nathaniel Hawthorne"),
    ("Don Quixote", "Miguel de Cervantes", "Lope de Vega"),
    ("Crime and Punishment", "Fyodor Dostoevsky", "Leo Tolstoy"),
    ("Hamlet", "William Shakespeare", "Christopher Marlowe"),
    ("The Divine Comedy", "Dante Alighieri", "Petrarch"),
    ("Frankenstein", "Mary Shelley", "Bram Stoker"),
    ("Jane Eyre", "Charlotte Brontë", "Emily Brontë"),
    ("Wuthering Heights", "Emily Brontë", "Charlotte Brontë"),
    ("The Old Man and the Sea", "Ernest Hemingway", "John Steinbeck"),
    ("To Kill a Mockingbird", "Harper Lee", "Truman Capote"),
    ("The Catcher in the Rye", "J. D. Salinger", "Jack Kerouac"),
    ("Things Fall Apart", "Chinua Achebe", "Wole Soyinka"),
    ("The Trial", "Franz Kafka", "Robert Musil"),
    ("Madame Bovary", "Gustave Flaubert", "Émile Zola"),
    ("Les Misérables", "Victor Hugo", "Alexandre Dumas"),
    ("The Hobbit", "J. R. R. Tolkien", "C. S. Lewis"),
    ("Brave New World", "Aldous Huxley", "George Orwell"),
    ("Beloved", "Toni Morrison", "Alice Walker"),
    ("Norwegian Wood", "Haruki Murakami", "Kazuo Ishiguro"),
    ("The Odyssey", "Homer", "Virgil"),
]

SCIENCE: list[tuple[str, str, str, str]] = [
    ("Which planet is known as the Red Planet?", "Mars", "Venus", "The Red Planet is {a}."),
    (
        "What is the largest planet in the Solar System?",
        "Jupiter",
        "Saturn",
        "The largest planet is {a}.",
    ),
    ("Which planet is closest to the Sun?", "Mercury", "Venus", "The closest planet is {a}."),
    ("How many bones are in the adult human body?", "206", "208", "An adult human has {a} bones."),
    (
        "What gas do plants absorb from the atmosphere for photosynthesis?",
        "Carbon dioxide",
        "Oxygen",
        "Plants absorb {a}.",
    ),
    (
        "What is the hardest natural substance?",
        "Diamond",
        "Quartz",
        "The hardest natural substance is {a}.",
    ),
    (
        "Which organelle is known as the powerhouse of the cell?",
        "Mitochondria",
        "Ribosome",
        "That is the {a}.",
    ),
    (
        "What is the boiling point of water at sea level in degrees Celsius?",
        "100",
        "90",
        "Water boils at {a} degrees Celsius at sea level.",
    ),
    (
        "How many chromosomes does a typical human cell have?",
        "46",
        "23",
        "A typical human cell has {a} chromosomes.",
    ),
    ("What is the chemical formula of table salt?", "NaCl", "KCl", "Table salt is {a}."),
    (
        "Which blood type is the universal red cell donor?",
        "O negative",
        "AB positive",
        "The universal donor is {a}.",
    ),
    (
        "What is the most abundant gas in Earth's atmosphere?",
        "Nitrogen",
        "Oxygen",
        "The most abundant gas is {a}.",
    ),
    ("What is the SI unit of electrical resistance?", "Ohm", "Volt", "The SI unit is the {a}."),
    ("What is the SI unit of force?", "Newton", "Joule", "The SI unit of force is the {a}."),
    ("How many planets are in the Solar System?", "8", "9", "There are {a} planets."),
    (
        "What is the freezing point of water in degrees Fahrenheit?",
        "32",
        "0",
        "Water freezes at {a} degrees Fahrenheit.",
    ),
    (
        "Which vitamin does the skin produce in sunlight?",
        "Vitamin D",
        "Vitamin C",
        "The skin produces {a}.",
    ),
    (
        "What is the largest organ of the human body?",
        "Skin",
        "Liver",
        "The largest organ is the {a}.",
    ),
    (
        "What particle has a negative electric charge?",
        "Electron",
        "Proton",
        "The negatively charged particle is the {a}.",
    ),
    ("How many hearts does an octopus have?", "3", "2", "An octopus has {a} hearts."),
    ("What is the chemical formula of water?", "H2O", "H2O2", "Water is {a}."),
    (
        "Which scientist formulated the three laws of motion?",
        "Isaac Newton",
        "Galileo Galilei",
        "The laws of motion were formulated by {a}.",
    ),
    ("What is the pH of pure water at 25 degrees Celsius?", "7", "0", "The pH is {a}."),
    (
        "Which planet has the most prominent ring system?",
        "Saturn",
        "Jupiter",
        "The planet with the most prominent rings is {a}.",
    ),
    (
        "What is the speed of sound in dry air at 20 degrees Celsius, in meters per second?",
        "343",
        "300",
        "Sound travels at about {a} m/s.",
    ),
]

GEOGRAPHY: list[tuple[str, str, str, str]] = [
    ("Which is the largest ocean on Earth?", "Pacific", "Atlantic", "The largest is the {a}."),
    ("What is the longest river in South America?", "Amazon", "Paraná", "The longest is the {a}."),
    (
        "What is the highest mountain above sea level?",
        "Mount Everest",
        "K2",
        "The highest mountain is {a}.",
    ),
    (
        "What is the largest hot desert in the world?",
        "Sahara",
        "Arabian Desert",
        "The largest hot desert is the {a}.",
    ),
    (
        "What is the smallest country in the world by area?",
        "Vatican City",
        "Monaco",
        "The smallest country is {a}.",
    ),
    (
        "What is the largest country in the world by area?",
        "Russia",
        "Canada",
        "The largest country is {a}.",
    ),
    (
        "What is the deepest lake in the world?",
        "Lake Baikal",
        "Lake Tanganyika",
        "The deepest lake is {a}.",
    ),
    ("Which river flows through Budapest?", "Danube", "Rhine", "Budapest lies on the {a}."),
    (
        "What is the longest mountain range on land?",
        "Andes",
        "Himalayas",
        "The longest range is the {a}.",
    ),
    ("Which US state is the largest by area?", "Alaska", "Texas", "The largest state is {a}."),
]


def capital_items(rng: random.Random) -> list[QAItem]:
    templates = (
        "What is the capital of {c}?",
        "Which city is the capital of {c}?",
        "Name the capital city of {c}.",
    )
    others = [capital for _, capital, _ in CAPITALS]
    items = []
    for country, capital, confusions in CAPITALS:
        wrong = [*confusions, rng.choice([o for o in others if o != capital])]
        key = {"France": "france", "Australia": "australia"}.get(country, "")
        question = templates[0] if key else rng.choice(templates)
        items.append(
            QAItem(
                question.format(c=country),
                capital,
                "geography",
                f"The capital of {country} is {{a}}.",
                wrong,
                key=key,
            )
        )
    for country, continent in CONTINENTS:
        wrong = [c for c in ("Europe", "Asia", "Africa", "South America") if c != continent]
        items.append(
            QAItem(
                f"On which continent is {country}?",
                continent,
                "geography",
                f"{country} is in {{a}}.",
                wrong[:2],
            )
        )
    for question, answer, wrong, sentence in GEOGRAPHY:
        items.append(QAItem(question, answer, "geography", sentence, [wrong]))
    return items


def element_items(rng: random.Random) -> list[QAItem]:
    items = []
    symbols = [s for _, s, _ in ELEMENTS]
    for name, symbol, confusion in ELEMENTS:
        wrong = [confusion, rng.choice([s for s in symbols if s != symbol])]
        items.append(
            QAItem(
                f"What is the chemical symbol for {name}?",
                symbol,
                "science",
                f"The chemical symbol for {name} is {{a}}.",
                wrong,
            )
        )
    for name, symbol, _ in rng.sample(ELEMENTS, 8):
        others = [n.capitalize() for n, _, _ in ELEMENTS if n != name]
        items.append(
            QAItem(
                f"Which element has the chemical symbol {symbol}?",
                name.capitalize(),
                "science",
                f"{symbol} is the symbol for {{a}}.",
                rng.sample(others, 2),
            )
        )
    for question, answer, wrong, sentence in SCIENCE:
        items.append(QAItem(question, answer, "science", sentence, [wrong]))
    items.append(
        QAItem(
            "What color is the gemstone ruby?",
            "Red",
            "science",
            "A ruby is {a}.",
            ["Pink", "Crimson"],
            key="ruby",
        )
    )
    return items


def near_misses(rng: random.Random, value: int) -> list[str]:
    digits = str(value)
    swapped = digits[::-1] if len(digits) > 1 and digits[::-1] != digits else str(value + 10)
    return [str(value + rng.choice((-1, 1))), swapped, str(value + rng.choice((-10, 10, 100)))]


def arithmetic_items(rng: random.Random) -> list[QAItem]:
    items = []
    for n in range(50):
        kind = n % 6
        if kind == 0:
            a, b = rng.randint(12, 989), rng.randint(12, 989)
            value, question, step = a + b, f"What is {a} + {b}?", f"{a} + {b} = {a + b}"
        elif kind == 1:
            a = rng.randint(200, 2000)
            b = rng.randint(11, a - 1)
            value, question, step = a - b, f"What is {a} minus {b}?", f"{a} - {b} = {a - b}"
        elif kind == 2:
            a, b = rng.randint(12, 99), rng.randint(3, 48)
            value, question = a * b, f"What is {a} multiplied by {b}?"
            step = f"{a} * {b} = {a} * {b // 10 * 10} + {a} * {b % 10} = {a * b}"
        elif kind == 3:
            b, value = rng.randint(3, 25), rng.randint(6, 120)
            a = b * value
            question, step = f"What is {a} divided by {b}?", f"{a} / {b} = {value}"
        elif kind == 4:
            p, base = rng.choice((5, 10, 15, 20, 25, 40, 75)), rng.randrange(40, 1200, 20)
            value, question = p * base // 100, f"What is {p}% of {base}?"
            step = f"{p}% of {base} = {p}/100 * {base} = {p * base // 100}"
        else:
            root = rng.randint(4, 40)
            value, question = root, f"What is the square root of {root * root}?"
            step = f"{root} * {root} = {root * root}, so the square root is {root}"
        items.append(
            QAItem(
                question,
                str(value),
                "math",
                "The result is {a}.",
                near_misses(rng, value),
                working=f"Let's work it out step by step.\n{step}",
            )
        )
    return items


UNITS: list[tuple[str, str, int, str]] = [
    ("kilometers", "meters", 1000, "1 kilometer = 1000 meters"),
    ("kilograms", "grams", 1000, "1 kilogram = 1000 grams"),
    ("hours", "minutes", 60, "1 hour = 60 minutes"),
    ("minutes", "seconds", 60, "1 minute = 60 seconds"),
    ("feet", "inches", 12, "1 foot = 12 inches"),
    ("yards", "feet", 3, "1 yard = 3 feet"),
    ("liters", "milliliters", 1000, "1 liter = 1000 milliliters"),
    ("days", "hours", 24, "1 day = 24 hours"),
    ("weeks", "days", 7, "1 week = 7 days"),
]


def unit_items(rng: random.Random) -> list[QAItem]:
    items = [
        QAItem(
            "How many meters are in 5 kilometers?",
            "5000",
            "unit-conversion",
            "5 kilometers is {a} meters.",
            ["500", "50000"],
            working="1 kilometer = 1000 meters, so 5 kilometers = 5 * 1000 = 5000 meters.",
            key="km5",
        )
    ]
    for n in range(32):
        src, dst, factor, rule = UNITS[n % len(UNITS)]
        amount = rng.choice((2, 3, 4, 6, 7, 8, 9, 12, 15, 18, 24, 36, 45))
        value = amount * factor
        items.append(
            QAItem(
                f"How many {dst} are in {amount} {src}?",
                str(value),
                "unit-conversion",
                f"{amount} {src} is {{a}} {dst}.",
                near_misses(rng, value),
                working=f"{rule}, so {amount} {src} = {amount} * {factor} = {value} {dst}.",
            )
        )
    for celsius in rng.sample(range(-40, 105, 5), 8):
        fahrenheit = celsius * 9 // 5 + 32
        items.append(
            QAItem(
                f"Convert {celsius} degrees Celsius to Fahrenheit.",
                str(fahrenheit),
                "unit-conversion",
                f"{celsius} degrees Celsius is {{a}} degrees Fahrenheit.",
                near_misses(rng, fahrenheit),
                working=f"F = C * 9/5 + 32 = {celsius} * 9/5 + 32 = {fahrenheit}.",
            )
        )
    return items


def history_items(rng: random.Random) -> list[QAItem]:
    items = []
    for event, year in HISTORY_YEARS:
        key = "berlin" if year == 1989 and "Wall" in event else ""
        items.append(
            QAItem(
                f"In what year {event}?",
                str(year),
                "history",
                "That happened in {a}.",
                [str(year + d) for d in rng.sample((-2, -1, 1, 2, 10), 2)],
                key=key,
            )
        )
    for question, answer, wrong in HISTORY_PEOPLE:
        items.append(QAItem(question, answer, "history", "It was {a}.", [wrong]))
    return items


def literature_items() -> list[QAItem]:
    items = []
    for title, author, wrong in BOOKS:
        items.append(
            QAItem(
                f"Who wrote {title}?",
                author,
                "literature",
                f"{title} was written by {{a}}.",
                [wrong],
                key="moby" if title == "Moby-Dick" else "",
            )
        )
    return items


def special_items() -> list[QAItem]:
    return [
        QAItem(
            "日本の首都はどこですか？",  # noqa: RUF001
            "東京",
            "multilingual",
            "日本の首都は{a}です。",
            ["大阪", "京都"],
            key="tokyo_ja",
        ),
        QAItem(
            "中国的首都是哪里？",  # noqa: RUF001
            "北京",
            "multilingual",
            "中国的首都是{a}。",
            ["上海"],
        ),
        QAItem("대한민국의 수도는 어디입니까?", "서울", "multilingual", "{a}입니다.", ["부산"]),
        QAItem(
            "Which fruit does the emoji 🍌 show?",
            "Banana",
            "multilingual",
            "The emoji shows a {a}.",
            ["Plantain"],
            key="banana",
        ),
        QAItem(
            "Give the latitude and longitude of the Eiffel Tower as a JSON object with keys "
            '"lat" and "lon", rounded to 3 decimals.',
            {"lat": 48.858, "lon": 2.294},
            "structured",
            "{a}",
            ['{"lat": 48.853, "lon": 2.349}'],
            key="json",
        ),
    ]


def qa_dataset(rng: random.Random) -> list[QAItem]:
    pool = (
        capital_items(rng)
        + element_items(rng)
        + arithmetic_items(rng)
        + unit_items(rng)
        + history_items(rng)
        + literature_items()
        + special_items()
    )
    keep = [item for item in pool if item.key or item.category == "multilingual"]
    rest = [item for item in pool if item not in keep]
    items = keep + rng.sample(rest, QA_SIZE - len(keep))
    rng.shuffle(items)
    return items


# ----------------------------------------------------------------------------- errors (stacks)

WEB_RUNNER = "file:///srv/evals-web-runner"
CI_CHECKOUT = "file:///home/runner/work/support-bot/support-bot"


def _pkg(root: str) -> str:
    return f"{root}/node_modules/@deepagents/evals/dist/index.js"


def timeout_error(root: str) -> str:
    stack = (
        "Error: timeout exceeded\n"
        f"    at Timeout.<anonymous> ({_pkg(root)}:957:24)\n"
        "    at listOnTimeout (node:internal/timers:585:17)\n"
        "    at process.processTimers (node:internal/timers:521:7)"
    )
    return to_json({"name": "Error", "message": "timeout exceeded", "stack": stack})


def provider_error(root: str, task_frame: str, idx: int, message: str, cause: Json) -> str:
    stack = (
        f"Error: {message}\n"
        f"    at {task_frame}\n"
        "    at process.processTicksAndRejections (node:internal/process/task_queues:105:5)\n"
        f"    at async wrapTask ({_pkg(root)}:953:20)\n"
        f"    at async processItem ({_pkg(root)}:1082:23)\n"
        f"    at async Promise.all (index {idx})\n"
        f"    at async runEval ({_pkg(root)}:1161:7)"
    )
    return to_json({"name": "Error", "message": message, "stack": stack, "cause": cause})


RATE_LIMIT_CAUSES = {
    "gpt-4o-mini": "Rate limit reached for gpt-4o-mini in organization org-qN3vTb8xKw2LmR5s on "
    "tokens per min (TPM): Limit 200000, Used 199{u}, Requested {r}. Please try again in {t}ms.",
    "claude-sonnet-4-5": "rate_limit_error: This request would exceed the rate limit for your "
    "organization of 80,000 input tokens per minute.",
}


@dataclass
class Failure:
    error: str  # the text stored in cases.error
    reason: str  # "<Name>: <message>", for the "Task failed: ..." score reasons
    latency_ms: int


def make_failure(
    kind: str, model: str, idx: int, rng: random.Random, root: str, frame: str
) -> Failure:
    if kind == "timeout":
        return Failure(
            timeout_error(root), "Error: timeout exceeded", TIMEOUT_MS + rng.randint(1, 4)
        )
    if kind == "429":
        message = "Provider returned 429 Too Many Requests"
        detail = RATE_LIMIT_CAUSES[model].format(
            u=rng.randint(100, 999), r=rng.randint(180, 900), t=rng.randint(20, 400)
        )
        cause = {"name": "APICallError", "message": detail}
        latency = rng.randint(140, 900)
    elif kind == "503":
        message = "Provider returned 503 Service Unavailable"
        cause = {
            "name": "Error",
            "message": "upstream connect error or disconnect/reset before headers. "
            "reset reason: overflow",
        }
        latency = rng.randint(2_000, 9_000)
    else:
        raise ValueError(kind)
    return Failure(provider_error(root, frame, idx, message, cause), f"Error: {message}", latency)


PLAIN_TEXT_ERROR = (
    "Error: socket hang up\n"
    "    at connResetException (node:internal/errors:787:14)\n"
    "    at TLSSocket.socketOnEnd (node:_http_client:519:23)\n"
    "    at TLSSocket.emit (node:events:531:35)"
)

# ------------------------------------------------------------------------------- QA attempts


@dataclass(frozen=True)
class Style:
    """How a model (with its prompt) tends to answer; "wrong" takes the remaining probability."""

    exact: float
    fmt: float
    verbose: float
    partial: float
    shows_work: float  # chance of showing the working on math and unit items
    latency: tuple[int, int]
    ms_per_token: int
    prompt_tokens: int


QA_STYLES = {
    "claude-sonnet-4-5": Style(0.865, 0.035, 0.03, 0.015, 0.0, (650, 2_100), 14, 118),
    "gpt-4o-mini": Style(0.835, 0.045, 0.035, 0.02, 0.86, (340, 1_300), 11, 151),
    "o3-mini": Style(0.9, 0.02, 0.02, 0.01, 0.0, (1_700, 3_400), 6, 119),
}


@dataclass
class Attempt:
    kind: str  # exact, fmt, verbose, work, partial, wrong, quirk, error, special
    output: str | None
    fact: tuple[float, str] | None
    latency_ms: int
    tokens_in: int
    tokens_out: int
    error: str | None = None
    failure: str | None = None  # "<Name>: <message>" when the task failed


def judge(kind: str, item: QAItem, output: str, rng: random.Random) -> tuple[float, str]:
    """A stand-in for the LLM factuality judge: a score in quarter steps and a short reason."""
    a = item.answer
    if kind == "exact":
        return 1.0, rng.choice(
            (
                "The submitted answer is identical to the expert answer.",
                f"The submission gives {a}, which matches the expert answer exactly.",
                f"Both answers state {a}; there is no factual disagreement.",
            )
        )
    if kind == "quirk":
        return 0.25, (
            f"The submission ({a}) seems to answer a different question than the one asked; "
            "the expert answer may refer to something else."
        )
    if kind == "fmt":
        return 1.0, (
            f"The submission states {a} with only a formatting difference; "
            "the facts are the same as the expert answer."
        )
    if kind in ("verbose", "work"):
        return rng.choice(
            (
                (
                    1.0,
                    f"The submission contains the expert answer ({a}) and adds explanation "
                    "that is consistent with it.",
                ),
                (
                    0.75,
                    f"The submission reaches {a}, but adds details the question did not ask for.",
                ),
            )
        )
    if kind == "partial":
        return rng.choice(
            (
                (
                    0.5,
                    f'The submission ("{output}") is a subset of the expert answer ({a}); '
                    "it is consistent but incomplete.",
                ),
                (
                    0.25,
                    f'The submission ("{output}") only partly matches the expert answer '
                    f"({a}) and could refer to something else.",
                ),
            )
        )
    return rng.choice(
        (
            (0.0, f'The submission says "{output}", but the expert answer is {a}; these conflict.'),
            (
                0.25,
                f'The submission ("{output}") is close to the expert answer ({a}) but is '
                "factually incorrect.",
            ),
        )
    )


def format_variant(answer: str, rng: random.Random) -> str:
    options = [f"{answer}.", f"{answer}\n", f'"{answer}"', f" {answer}"]
    if answer.lower() != answer:
        options.append(answer.lower())
    if ascii_fold(answer) != answer:
        options += [ascii_fold(answer)] * 3
    return rng.choice(options)


def tokens_for(text: str, rng: random.Random) -> int:
    return max(1, len(text.encode("utf-8")) // 4 + rng.randint(0, 2))


def answer_qa(item: QAItem, style: Style, rng: random.Random) -> Attempt:
    a = item.answer
    if item.key == "json":
        kind = "special"
        output = rng.choice(('{"lat": 48.858, "lon": 2.294}', '{"lat":48.858,"lon":2.294}'))
        fact = (1.0, "The submitted coordinates are the same as the expert answer.")
    elif item.working and rng.random() < style.shows_work:
        kind, output = "work", f"{item.working}\n\n**Answer:** {a}"
        fact = judge(kind, item, output, rng)
    else:
        kind = pick(
            rng,
            {
                "exact": style.exact,
                "fmt": style.fmt,
                "verbose": style.verbose,
                "partial": style.partial,
                "wrong": 1 - style.exact - style.fmt - style.verbose - style.partial,
            },
        )
        if kind == "exact" and rng.random() < 0.008:
            kind = "quirk"
        if kind == "partial" and (" " not in a or a[0].isdigit()):
            kind = "wrong"
        if kind in ("exact", "quirk"):
            output = a
        elif kind == "fmt":
            output = format_variant(a, rng)
        elif kind == "verbose":
            output = rng.choice((item.sentence, "The answer is {a}.")).format(a=a)
        elif kind == "partial":
            words = a.replace(",", "").split()
            output = words[-1] if rng.random() < 0.7 else words[0]
        else:
            output = rng.choice(item.wrong)
            if rng.random() < 0.25:
                output = item.sentence.format(a=output)
        fact = judge(kind, item, output, rng)
    return finish_attempt(kind, output, fact, item, style, rng)


def finish_attempt(
    kind: str,
    output: str | None,
    fact: tuple[float, str] | None,
    item: QAItem,
    style: Style,
    rng: random.Random,
) -> Attempt:
    tokens_out = tokens_for(output or "", rng) if output else 0
    latency = rng.randint(*style.latency) + tokens_out * style.ms_per_token
    tokens_in = style.prompt_tokens + len(item.question.encode("utf-8")) // 4 + rng.randint(0, 6)
    return Attempt(kind, output, fact, latency, tokens_in, tokens_out)


def failed_attempt(failure: Failure) -> Attempt:
    """A task that threw: no output, no usage, every scorer gets 0 with "Task failed: ..."."""
    return Attempt("error", None, None, failure.latency_ms, 0, 0, failure.error, failure.reason)


def long_answer() -> str:
    """A ~40 KB answer from a model that got stuck restating itself."""
    paragraphs = (
        "After the Second World War, Germany was divided into four occupation zones, and "
        "Berlin, although deep inside the Soviet zone, was divided the same way. By the late "
        "1950s roughly 2.7 million East Germans had left for the West, many of them through "
        "the open sector border in Berlin.",
        "On the night of 12 to 13 August 1961 the East German government sealed the sector "
        "border with barbed wire, and over the following years it built the concrete wall, "
        "the death strip, watchtowers and a second inner wall. At least 140 people were "
        "killed at the Berlin Wall.",
        "In 1989 the Eastern Bloc was changing fast: Hungary opened its border with Austria "
        "in the summer, thousands of East Germans fled through Hungary and Czechoslovakia, "
        "and the Monday demonstrations in Leipzig grew from a few thousand to hundreds of "
        "thousands of people.",
        "On the evening of 9 November 1989 the Politburo spokesman Guenter Schabowski "
        "announced new travel rules at a press conference and, asked when they would apply, "
        "answered that as far as he knew they applied immediately. Crowds gathered at the "
        "checkpoints, and shortly before midnight the guards at Bornholmer Strasse opened "
        "the gates.",
        "The physical demolition of the wall took longer: official dismantling began in "
        "June 1990, and German reunification followed on 3 October 1990. Today a few "
        "sections remain, most famously the East Side Gallery.",
        "Let me restate the key points once more to be thorough, since the question asks "
        "specifically for the year in which the Berlin Wall fell.",
    )
    parts = ["The Berlin Wall fell in 1989. Here is the full background.\n"]
    section = 1
    while sum(len(p) for p in parts) < 40_000:
        for paragraph in paragraphs:
            parts.append(f"\n### {section}. {paragraph.split(',')[0].split(':')[0]}\n\n")
            parts.append(paragraph + "\n")
            section += 1
    parts.append("\n**Answer:** 1989")
    return "".join(parts)


MARKDOWN_TABLE = (
    "Let's convert step by step.\n\n"
    "| Quantity | Value |\n"
    "| --- | ---: |\n"
    "| Kilometers | 5 |\n"
    "| Meters per kilometer | 1000 |\n"
    "| **Meters** | **5 * 1000 = 5000** |\n\n"
    "**Answer:** 5000"
)

# Hostile outputs, by the run they appear in and the dataset item's key.
HOSTILE: dict[str, dict[str, tuple[str, float, str]]] = {
    "claude": {
        "france": (
            "Paris\x1b]52;c;aGVsbG8=\x07",
            1.0,
            "The submitted answer states Paris, which matches the expert answer.",
        ),
    },
    "gpt": {
        "australia": (
            "[bold red]ALERT[/] Sydney is NOT the capital! The capital of Australia is Canberra. "
            "[link=http://x]click[/link] for sources.",
            0.75,
            "The submission gives the correct capital (Canberra) but wraps it in stray markup "
            "like [bold red]ALERT[/] and a [link=http://x] tag the question did not ask for.",
        ),
        "ruby": (
            "\x1b[2J\x1b[31mred",
            0.75,
            "The submission says red, which matches the expert answer, but it also contains "
            "terminal control sequences [ESC]; the answer itself is correct.",
        ),
        "km5": (
            MARKDOWN_TABLE,
            1.0,
            "The conversion table arrives at 5000 meters, the same as the expert answer.",
        ),
        "berlin": (
            long_answer(),
            0.75,
            "The answer (1989) is correct, but it is buried in an extremely long and "
            "repetitive response.",
        ),
        "tokyo_ja": (
            "東京 (Tokyo) 🗼",
            1.0,
            "The submission gives 東京 (Tokyo), the same city as the expert answer.",
        ),
        "banana": ("Banana 🍌", 1.0, "The submission names a banana, matching the expert answer."),
    },
}


def hostile_attempt(item: QAItem, run: str, style: Style, rng: random.Random) -> Attempt | None:
    entry = HOSTILE.get(run, {}).get(item.key)
    if entry is None:
        return None
    output, score, reason = entry
    attempt = finish_attempt("special", output, (score, reason), item, style, rng)
    if item.key == "berlin":  # ~9k tokens streamed just under the 30 s timeout
        attempt.latency_ms = 29_000 + rng.randint(100, 900)
    return attempt


def score_qa(item: QAItem, attempt: Attempt) -> list[Score]:
    if attempt.failure is not None:
        reason = f"Task failed: {attempt.failure}"
        return [(name, 0.0, reason) for name in QA_SCORERS]
    assert attempt.fact is not None
    output = attempt.output or ""
    exact, exact_reason = exact_match(output, item.expected)
    fact, fact_reason = attempt.fact
    return [
        ("exact", exact, exact_reason),
        ("levenshtein", levenshtein(output, item.expected), None),
        ("factuality", fact, fact_reason),
    ]


# ---------------------------------------------------------------------------- triage dataset

LABELS = ("refund", "shipping", "account", "bug", "billing")
CONFUSIONS = {
    "refund": ("billing", "shipping"),
    "shipping": ("refund",),
    "account": ("bug", "billing"),
    "bug": ("account",),
    "billing": ("refund", "account"),
}
LOCALIZED = {
    "de": {"refund": "Rückerstattung", "shipping": "Versand", "account": "Konto",
           "bug": "Fehler", "billing": "Abrechnung"},
    "fr": {"refund": "remboursement", "shipping": "livraison", "account": "compte",
           "bug": "bogue", "billing": "facturation"},
    "es": {"refund": "reembolso", "shipping": "envío", "account": "cuenta",
           "bug": "error", "billing": "facturación"},
}  # fmt: skip

TICKETS: dict[str, dict[str, tuple[str, ...]]] = {
    "en": {
        "refund": (
            "Hi, I sent the {product} back (order {order}) {days} days ago and the refund still "
            "hasn't shown up on my card. Can you check?",
            "The {product} from order {order} arrived cracked. I don't want a replacement, just "
            "my money back please.",
            "I cancelled order {order} within an hour of placing it but was still charged "
            "{amount}. Please refund it.",
            "How long do refunds usually take? I returned my {product} last week and haven't "
            "heard anything.",
            "UPS shows the {product} was delivered back to your warehouse on Monday. When will "
            "I get my money back for order {order}?",
        ),
        "shipping": (
            "Where is my order {order}? The tracking page has said 'label created' for {days} "
            "days.",
            "My package shows as delivered but there's nothing at my door or with my "
            "neighbours. Order {order}.",
            "Can I still change the delivery address on order {order}? I entered my old flat "
            "by mistake.",
            "Do you ship the {product} to Norway? Checkout won't let me pick it as a country.",
            "Order {order} was supposed to arrive Friday with express shipping. It's now {days} "
            "days late.",
        ),
        "account": (
            "I can't log in. The password reset email never arrives (checked spam). My login "
            "is {email}.",
            "Please close my account and delete all my personal data under GDPR.",
            "How do I change the email on my account from {email} to my new work address?",
            "My account was locked after too many login attempts and the unlock link has expired.",
            "I set up two-factor auth on my old phone and now I can't get the codes. How do I "
            "get back into my account?",
        ),
        "bug": (
            "The app crashes every time I tap 'Pay now' on my {device}. Reinstalling didn't help.",
            "Since yesterday's update the {area} is just a blank white screen on my {device}.",
            "I get 'Error 500: something went wrong' whenever I try to download an invoice as PDF.",
            "Search finds nothing when the product name has an accent, e.g. 'café' or "
            "'crème'. Without the accent it works.",
            "The Save button on the {area} does nothing. The console shows 'TypeError: "
            "Cannot read properties of undefined (reading 'id')'.",
        ),
        "billing": (
            "I was charged twice for my {plan} subscription this month, {amount} each time. "
            "Please fix this.",
            "How do I switch my {plan} plan from monthly to annual billing?",
            "Our invoice is missing the company VAT number. Can you reissue it with VAT ID "
            "DE{vat}?",
            "Why did my {plan} plan renew at {amount}? Nobody told us about a price change.",
            "Please update the credit card on file, the old one expires at the end of the month.",
        ),
    },
    "de": {
        "refund": (
            "Hallo, ich habe den {product} (Bestellung {order}) vor {days} Tagen "
            "zurückgeschickt und noch keine Erstattung erhalten.",
            "Der {product} kam beschädigt an. Ich möchte keinen Ersatz, sondern mein Geld zurück.",
            "Ich habe die Bestellung {order} sofort storniert, aber mir wurden trotzdem "
            "{amount} abgebucht. Bitte erstatten.",
        ),
        "shipping": (
            "Wo bleibt meine Bestellung {order}? Die Sendungsverfolgung zeigt seit {days} "
            "Tagen keinen neuen Status.",
            "Laut Tracking wurde das Paket zugestellt, aber bei mir ist nichts angekommen. "
            "Bestellnummer {order}.",
            "Kann ich die Lieferadresse für Bestellung {order} noch ändern?",
        ),
        "account": (
            "Ich kann mich nicht mehr einloggen, die E-Mail zum Zurücksetzen des Passworts "
            "kommt nie an. Konto: {email}",
            "Bitte löschen Sie mein Konto und alle meine Daten.",
            "Mein Konto ist nach mehreren Fehlversuchen gesperrt. Wie kann ich es entsperren?",
        ),
        "bug": (
            "Die App stürzt auf meinem {device} jedes Mal ab, wenn ich auf 'Jetzt bezahlen' tippe.",
            "Seit dem letzten Update ist die Seite {area} nur noch weiß.",
            "Beim Herunterladen der Rechnung als PDF kommt immer 'Fehler 500'.",
        ),
        "billing": (
            "Mir wurde das {plan}-Abo diesen Monat doppelt berechnet ({amount}).",
            "Wie stelle ich meinen {plan}-Tarif von monatlicher auf jährliche Zahlung um?",
            "Auf unserer Rechnung fehlt die USt-IdNr. Können Sie die Rechnung neu ausstellen?",
        ),
    },
    "fr": {
        "refund": (
            "Bonjour, j'ai renvoyé le {product} (commande {order}) il y a {days} jours et je "
            "n'ai toujours pas été remboursé.",
            "Le {product} est arrivé cassé. Je ne veux pas d'échange, je veux être remboursé.",
            "J'ai annulé la commande {order} tout de suite mais vous m'avez quand même débité "
            "{amount}.",
        ),
        "shipping": (
            "Où est ma commande {order} ? Le suivi n'a pas bougé depuis {days} jours.",
            "Le colis est indiqué comme livré mais je n'ai rien reçu. Commande {order}.",
            "Est-ce que je peux encore modifier l'adresse de livraison de la commande {order} ?",
        ),
        "account": (
            "Je n'arrive plus à me connecter, l'e-mail de réinitialisation du mot de passe "
            "n'arrive jamais. Compte : {email}",
            "Merci de supprimer mon compte et toutes mes données personnelles.",
            "Mon compte est bloqué après plusieurs tentatives de connexion. Comment le débloquer ?",
        ),
        "bug": (
            "L'application plante sur mon {device} dès que j'appuie sur 'Payer'.",
            "Depuis la dernière mise à jour, la page {area} reste blanche.",
            "J'obtiens 'Erreur 500' quand je télécharge ma facture en PDF.",
        ),
        "billing": (
            "J'ai été facturé deux fois pour mon abonnement {plan} ce mois-ci ({amount} chacun).",
            "Comment passer mon offre {plan} d'un paiement mensuel à annuel ?",
            "Il manque notre numéro de TVA sur la facture, pouvez-vous la refaire ?",
        ),
    },
    "es": {
        "refund": (
            "Hola, devolví el {product} (pedido {order}) hace {days} días y todavía no he "
            "recibido el reembolso.",
            "El {product} llegó roto. No quiero un cambio, quiero que me devuelvan el dinero.",
            "Cancelé el pedido {order} enseguida pero me cobraron {amount} igualmente.",
        ),
        "shipping": (
            "¿Dónde está mi pedido {order}? El seguimiento no se actualiza desde hace {days} días.",
            "El paquete figura como entregado pero no lo he recibido. Pedido {order}.",
            "¿Puedo cambiar la dirección de entrega del pedido {order}?",
        ),
        "account": (
            "No puedo iniciar sesión, nunca me llega el correo para restablecer la contraseña. "
            "Cuenta: {email}",
            "Por favor, eliminen mi cuenta y todos mis datos personales.",
            "Mi cuenta se bloqueó tras varios intentos de inicio de sesión. ¿Cómo la desbloqueo?",
        ),
        "bug": (
            "La app se cierra en mi {device} cada vez que pulso 'Pagar ahora'.",
            "Desde la última actualización la página {area} sale en blanco.",
            "Me sale 'Error 500' al descargar la factura en PDF.",
        ),
        "billing": (
            "Me han cobrado dos veces la suscripción {plan} este mes ({amount} cada una).",
            "¿Cómo cambio mi plan {plan} de pago mensual a anual?",
            "A nuestra factura le falta el NIF de la empresa, ¿pueden emitirla de nuevo?",
        ),
    },
}

PRODUCTS = {
    "en": ("wireless earbuds", "standing desk", "espresso machine", "27-inch monitor",
           "rain jacket", "smartwatch", "cast iron skillet"),
    "de": ("Wasserkocher", "Rucksack", "Monitor", "Staubsauger", "Mixer", "Bürostuhl"),
    "fr": ("casque audio", "sac à dos", "aspirateur", "fauteuil de bureau", "mixeur"),
    "es": ("altavoz", "monitor", "reloj inteligente", "patinete eléctrico", "teclado"),
}  # fmt: skip
AREAS = {
    "en": ("checkout page", "order history page", "billing settings page", "home screen"),
    "de": ("Kasse", "Bestellübersicht", "Rechnungseinstellungen"),
    "fr": ("paiement", "historique des commandes", "paramètres de facturation"),
    "es": ("de pago", "de pedidos", "de facturación"),
}
DEVICES = ("iPhone 15", "Pixel 8", "Galaxy S23", "iPad Air", "iPhone 13 mini")
PLANS = ("Pro", "Team", "Starter", "Business")
NAMES = ("anna.keller", "j.smith", "marie.dubois", "lucia.garcia", "tom.becker", "priya.n",
         "olivier.martin", "sofia.romero", "m.weber", "kevin.oconnor")  # fmt: skip
DOMAINS = {"en": "gmail.com", "de": "web.de", "fr": "orange.fr", "es": "yahoo.es"}


@dataclass
class Ticket:
    text: str
    lang: str
    label: str

    def record(self) -> dict[str, Json]:
        return {"input": {"ticket": self.text, "lang": self.lang}, "expected": self.label}


def triage_dataset(rng: random.Random) -> list[Ticket]:
    tickets = []
    for _ in range(TRIAGE_SIZE):
        lang = pick(rng, {"en": 0.6, "de": 0.15, "fr": 0.13, "es": 0.12})
        label = rng.choice(LABELS)
        cents = rng.choice((0, 49, 90, 99))
        euros = rng.choice((9, 19, 29, 49, 79, 129, 249))
        amount = f"${euros}.{cents:02d}" if lang == "en" else f"{euros},{cents:02d} €"
        text = rng.choice(TICKETS[lang][label]).format(
            product=rng.choice(PRODUCTS[lang]),
            order=f"#{rng.randint(100_000, 999_999)}",
            days=rng.randint(3, 21),
            amount=amount,
            plan=rng.choice(PLANS),
            email=f"{rng.choice(NAMES)}@{DOMAINS[lang]}",
            device=rng.choice(DEVICES),
            area=rng.choice(AREAS[lang]),
            vat=rng.randint(100_000_000, 999_999_999),
        )
        tickets.append(Ticket(text, lang, label))
    return tickets


@dataclass(frozen=True)
class TriageStyle:
    correct: float
    fmt: float
    localized: float  # answers in the ticket's language (non-English tickets only)
    latency: tuple[int, int]

    def weights(self) -> dict[str, float]:
        wrong = 1 - self.correct - self.fmt - self.localized
        return {"exact": self.correct, "fmt": self.fmt, "localized": self.localized, "wrong": wrong}


TRIAGE_STYLES = {
    "gpt-4o-mini": TriageStyle(0.805, 0.045, 0.05, (260, 900)),
    "claude-sonnet-4-5": TriageStyle(0.905, 0.02, 0.015, (480, 1_500)),
}
INTENT_PROMPT_TOKENS = 164


def allocate(rng: random.Random, n: int, weights: dict[str, float]) -> list[str]:
    """n outcome kinds in the given proportions (exactly, up to rounding), shuffled."""
    kinds = [kind for kind, weight in weights.items() for _ in range(round(weight * n))]
    kinds = (kinds + [next(iter(weights))] * n)[:n]
    rng.shuffle(kinds)
    return kinds


def answer_ticket(
    ticket: Ticket, style: TriageStyle, rng: random.Random, kind: str | None = None
) -> Attempt:
    label = ticket.label
    if kind is None:
        kind = pick(rng, style.weights())
    if kind == "localized" and ticket.lang == "en":
        kind = "wrong"
    if kind == "exact":
        output = label
    elif kind == "fmt":
        output = rng.choice((label.capitalize(), f"{label}\n", f"Intent: {label}", f"{label}."))
    elif kind == "localized":
        output = LOCALIZED[ticket.lang][label]
    else:
        output = rng.choice(CONFUSIONS[label])
    size = len(ticket.text.encode("utf-8"))
    tokens_in = INTENT_PROMPT_TOKENS + size // 4 + (size // 12 if ticket.lang != "en" else 0)
    return Attempt(
        kind,
        output,
        None,
        rng.randint(*style.latency),
        tokens_in,
        1 + len(output) // 6 + rng.randint(0, 1),
    )


def score_ticket(ticket: Ticket, attempt: Attempt) -> list[Score]:
    if attempt.failure is not None:
        reason = f"Task failed: {attempt.failure}"
        return [(name, 0.0, reason) for name in TRIAGE_SCORERS]
    output = attempt.output or ""
    exact, exact_reason = exact_match(output, ticket.label)
    inc, inc_reason = includes(output, ticket.label)
    return [("exact", exact, exact_reason), ("includes", inc, inc_reason)]


# ---------------------------------------------------------------------------- store writing


@dataclass
class CaseRow:
    idx: int
    input: str
    expected: str | None
    output: str | None
    latency_ms: int
    tokens_in: int
    tokens_out: int
    error: str | None
    scores: list[Score]
    busy_ms: int  # how long the case holds a concurrency slot (task plus scoring)


def case_row(
    idx: int,
    record: dict[str, Json],
    attempt: Attempt,
    scores: list[Score],
    scoring_ms: int,
) -> CaseRow:
    expected = record.get("expected")
    return CaseRow(
        idx=idx,
        input=to_json(record),
        expected=None if expected is None else to_json(expected),
        output=attempt.output or None,
        latency_ms=attempt.latency_ms,
        tokens_in=attempt.tokens_in,
        tokens_out=attempt.tokens_out,
        error=attempt.error,
        scores=scores,
        busy_ms=attempt.latency_ms + (0 if attempt.failure else scoring_ms),
    )


@dataclass
class RunSpec:
    suite_id: str
    name: str
    model: str
    config: dict[str, Json] | None
    started_at: int
    concurrency: int
    scorers: tuple[str, ...]
    cases: list[CaseRow]
    status: str = "completed"
    saved: int | None = None  # failed/running runs: how many completed cases reached the store
    last_unscored: bool = False  # running run: the last saved case has no scores yet

    @property
    def threshold(self) -> float:
        value = (self.config or {}).get("threshold", 0.5)
        return float(value)


Action = Callable[[sqlite3.Connection], None]


class Timeline:
    """Store writes with the time they happen; played back in time order like the package."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self._events: list[tuple[int, int, Action]] = []

    def at(self, ts: int, action: Action) -> None:
        self._events.append((ts, len(self._events), action))

    def play(self, conn: sqlite3.Connection) -> None:
        for _, _, action in sorted(self._events, key=lambda e: (e[0], e[1])):
            with conn:
                action(conn)

    def suite(self, name: str, created_at: int) -> str:
        suite_id = new_id(self.rng)
        self.at(
            created_at,
            lambda c: c.execute(
                "INSERT INTO suites (id, name, created_at) VALUES (?, ?, ?)",
                (suite_id, name, created_at),
            ),
        )
        return suite_id

    def prompt(self, name: str, version: int, content: str, created_at: int) -> str:
        prompt_id = new_id(self.rng)
        self.at(
            created_at,
            lambda c: c.execute(
                "INSERT INTO prompts (id, name, version, content, created_at) "
                "VALUES (?, ?, ?, ?, ?)",
                (prompt_id, name, version, content, created_at),
            ),
        )
        return prompt_id

    def run(self, spec: RunSpec) -> int:
        """Schedule a run's writes; returns when its last write happens."""
        rng = self.rng
        run_id = new_id(rng)
        config = None if spec.config is None else to_json(spec.config)
        self.at(
            spec.started_at,
            lambda c: c.execute(
                "INSERT INTO runs (id, suite_id, name, model, config, started_at) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (run_id, spec.suite_id, spec.name, spec.model, config, spec.started_at),
            ),
        )
        slots = [spec.started_at + 1] * spec.concurrency
        done: list[tuple[int, CaseRow]] = []
        for case in spec.cases:  # items start in idx order as slots free up
            start = heapq.heappop(slots) + rng.randint(0, 3)
            heapq.heappush(slots, start + case.busy_ms)
            done.append((start + case.busy_ms, case))
        done.sort(key=lambda d: (d[0], d[1].idx))
        saved = done if spec.saved is None else done[: spec.saved]
        for n, (ts, case) in enumerate(saved):
            scored = not (spec.last_unscored and n == len(saved) - 1)
            self.at(ts, self._save_case(run_id, case, scored))
        end = saved[-1][0] + rng.randint(3, 40) if saved else spec.started_at + 5
        if spec.status == "completed":
            self.at(end, self._finish(run_id, end, spec.threshold, spec.scorers))
        elif spec.status == "failed":
            self.at(
                end,
                lambda c: c.execute(
                    "UPDATE runs SET finished_at = ?, status = ?, summary = ? WHERE id = ?",
                    (end, "failed", None, run_id),
                ),
            )
        return end

    def _save_case(self, run_id: str, case: CaseRow, scored: bool) -> Action:
        case_id = new_id(self.rng)
        score_rows = [(new_id(self.rng), case_id, *score) for score in case.scores]

        def action(c: sqlite3.Connection) -> None:
            c.execute(
                "INSERT INTO cases (id, run_id, idx, input, output, expected, latency_ms, "
                "tokens_in, tokens_out, error) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (case_id, run_id, case.idx, case.input, case.output, case.expected,
                 case.latency_ms, case.tokens_in, case.tokens_out, case.error),
            )  # fmt: skip
            if scored:
                c.executemany(
                    "INSERT INTO scores (id, case_id, scorer_name, score, reason) "
                    "VALUES (?, ?, ?, ?, ?)",
                    score_rows,
                )

        return action

    @staticmethod
    def _finish(run_id: str, end: int, threshold: float, scorers: tuple[str, ...]) -> Action:
        def action(c: sqlite3.Connection) -> None:
            summary = to_json(run_summary(c, run_id, threshold, scorers))
            c.execute(
                "UPDATE runs SET finished_at = ?, status = ?, summary = ? WHERE id = ?",
                (end, "completed", summary, run_id),
            )

        return action


def run_summary(
    conn: sqlite3.Connection, run_id: str, threshold: float, scorers: Sequence[str] = ()
) -> dict[str, Json]:
    """The package's getRunSummary (verbatim SQL); meanScores keyed in the run's scorer order."""
    total, latency, tokens_in, tokens_out = conn.execute(
        """SELECT
        COUNT(DISTINCT c.id) as totalCases,
        COALESCE(SUM(c.latency_ms), 0) as totalLatencyMs,
        COALESCE(SUM(c.tokens_in), 0) as totalTokensIn,
        COALESCE(SUM(c.tokens_out), 0) as totalTokensOut
       FROM cases c WHERE c.run_id = ?""",
        (run_id,),
    ).fetchone()
    means = dict(
        conn.execute(
            """SELECT s.scorer_name, AVG(s.score) as meanScore
       FROM scores s
       JOIN cases c ON c.id = s.case_id
       WHERE c.run_id = ?
       GROUP BY s.scorer_name""",
            (run_id,),
        ).fetchall()
    )
    minimums = conn.execute(
        """SELECT c.id,
        MIN(s.score) as minScore
       FROM cases c
       JOIN scores s ON s.case_id = c.id
       WHERE c.run_id = ?
       GROUP BY c.id""",
        (run_id,),
    ).fetchall()
    passed = sum(1 for _, low in minimums if low >= threshold)
    order = [name for name in scorers if name in means] + sorted(set(means) - set(scorers))
    return {
        "totalCases": total,
        "passCount": passed,
        "failCount": len(minimums) - passed,
        "meanScores": {name: means[name] for name in order},
        "totalLatencyMs": latency,
        "totalTokensIn": tokens_in,
        "totalTokensOut": tokens_out,
    }


# ---------------------------------------------------------------------------------- prompts

QA_SYSTEM = (
    "You are a helpful assistant. Answer the user's question concisely.",
    """You are a precise question-answering assistant used in an automated evaluation.

Rules:
- Reply with the final answer only: no explanation, no full sentence, no trailing period.
- Use the common English name of places, people and works (for example "Canberra",
  "Leonardo da Vinci") and keep accents, as in "Bogotá".
- Numeric answers use digits only: no units, no thousands separators. Years have four digits.
- If you are not sure, give your single best guess; never refuse.""",
    """You are a precise question-answering assistant used in an automated evaluation.

Rules:
- Answer factual questions with the final answer only: no explanation, no trailing period.
- Use the common English name of places, people and works and keep accents, as in "Bogotá".
- For calculations and unit conversions, think step by step and show your working so that
  reviewers can audit it, then put the result on its own final line as: **Answer:** <result>
- Numeric results use digits only: no units, no thousands separators.
- If you are not sure, give your single best guess; never refuse.""",
)

INTENT_CLASSIFIER = (
    "Classify the customer support ticket into one of: refund, shipping, account, bug, "
    "billing. Reply with the label only.",
    """You are the triage step of our support inbox. Read the ticket and return exactly one
intent label.

Labels:
- refund: the customer wants money back for an order or a return
- shipping: delivery status, lost or late parcels, address changes, shipping destinations
- account: login, password reset, 2FA, email change, account deletion or data requests
- bug: something in the app or website is broken or shows an error
- billing: subscription charges, invoices, VAT, payment methods, plan changes

Tickets can be in English, German, French or Spanish. Always answer with the English label
in lowercase and nothing else: no punctuation, no explanation.""",
)

# ------------------------------------------------------------------------------------ runs


def qa_config(
    model: str, prompt_id: str, version: int, concurrency: int, threshold: float = 0.5
) -> dict[str, Json]:
    return {
        "taskMode": "prompt",
        "promptId": prompt_id,
        "promptName": "qa-system",
        "promptVersion": version,
        "dataset": "qa-golden-v4.jsonl",
        "model": model,
        "scorers": list(QA_SCORERS),
        "scorerModel": "gpt-4o",
        "maxConcurrency": concurrency,
        "timeout": TIMEOUT_MS,
        "trials": 1,
        "threshold": threshold,
    }


def qa_cases(items: list[QAItem], attempts: list[Attempt], rng: random.Random) -> list[CaseRow]:
    rows = []
    for idx, (item, attempt) in enumerate(zip(items, attempts, strict=True)):
        scoring_ms = rng.randint(450, 1_700)  # the factuality judge call
        rows.append(case_row(idx, item.record(), attempt, score_qa(item, attempt), scoring_ms))
    return rows


def qa_attempts(
    items: list[QAItem],
    model: str,
    run: str,
    errors: dict[int, str],
    rng: random.Random,
) -> list[Attempt]:
    style = QA_STYLES[model]
    frame = f"runPromptTask ({WEB_RUNNER}/dist/server/tasks.js:64:13)"
    attempts = []
    for idx, item in enumerate(items):
        hostile = hostile_attempt(item, run, style, rng)
        if hostile is not None:
            attempts.append(hostile)
        elif idx in errors:
            failure = make_failure(errors[idx], model, idx, rng, WEB_RUNNER, frame)
            attempts.append(failed_attempt(failure))
        else:
            attempts.append(answer_qa(item, style, rng))
    return attempts


def noisy_rerun(items: list[QAItem], previous: list[Attempt], rng: random.Random) -> list[Attempt]:
    """The same model and prompt again: mostly the same answers, a few differ either way."""
    style = QA_STYLES["gpt-4o-mini"]
    frame = f"runPromptTask ({WEB_RUNNER}/dist/server/tasks.js:64:13)"
    attempts = []
    for idx, (item, before) in enumerate(zip(items, previous, strict=True)):
        if item.key == "moby":  # a plain-text error, as a direct saveCases(...) can store
            attempts.append(
                Attempt("error", None, None, rng.randint(9_000, 14_000), 0, 0,
                        PLAIN_TEXT_ERROR, "Error: socket hang up")
            )  # fmt: skip
        elif before.kind == "error":
            timed_out = "timeout exceeded" in (before.error or "")
            if timed_out and rng.random() < 0.5:
                failure = make_failure("timeout", "gpt-4o-mini", idx, rng, WEB_RUNNER, frame)
                attempts.append(failed_attempt(failure))
            else:
                attempts.append(answer_qa(item, style, rng))
        elif before.kind != "special" and rng.random() < 0.04:
            attempts.append(answer_qa(item, style, rng))
        else:
            assert before.output is not None and before.fact is not None
            fact = before.fact
            if before.kind not in ("special", "quirk") and rng.random() < 0.3:
                fact = judge(before.kind, item, before.output, rng)  # the judge is noisy too
            again = finish_attempt(before.kind, before.output, fact, item, style, rng)
            again.tokens_in = before.tokens_in
            if item.key == "berlin":
                again.latency_ms = 29_000 + rng.randint(100, 900)
            attempts.append(again)
    for idx in rng.sample(range(len(items)), 3):  # new transient provider errors
        if items[idx].key or attempts[idx].kind == "error":
            continue
        failure = make_failure("429", "gpt-4o-mini", idx, rng, WEB_RUNNER, frame)
        attempts[idx] = failed_attempt(failure)
    return attempts


def broken_attempts(items: list[QAItem], rng: random.Random) -> list[Attempt]:
    attempts = []
    for idx, item in enumerate(items):
        variant = idx % 3
        if variant == 0:
            output, fact = "", (0.0, "The submission is empty, so it does not answer the question.")
        elif variant == 1:
            output = "<|im_end|>"
            fact = (0.0, "The submission is a stray control token and contains no answer.")
        else:
            word = item.answer.split()[0] if item.answer.split() else item.answer
            output = " ".join([word] * 24)
            fact = (0.25, "The submission repeats one word over and over; it is degenerate "
                    "and does not clearly answer the question.")  # fmt: skip
        attempt = Attempt("special", output, fact, rng.randint(150, 420), 0, 0)
        attempt.tokens_in = 118 + len(item.question) // 4
        attempt.tokens_out = tokens_for(output, rng) if output else 0
        attempts.append(attempt)
    return attempts


def pick_errors(rng: random.Random, items: list[QAItem], kinds: dict[str, int]) -> dict[int, str]:
    candidates = [idx for idx, item in enumerate(items) if not item.key]
    chosen = rng.sample(candidates, sum(kinds.values()))
    errors: dict[int, str] = {}
    for kind, count in kinds.items():
        for _ in range(count):
            errors[chosen.pop()] = kind
    return errors


def rate_limited(rng: random.Random, size: int, count: int) -> dict[int, str]:
    return dict.fromkeys(sorted(rng.sample(range(size), count)), "429")


def triage_cases(
    tickets: list[Ticket],
    model: str,
    errors: dict[int, str],
    rng: random.Random,
) -> tuple[list[CaseRow], list[Attempt]]:
    style = TRIAGE_STYLES[model]
    frame = f"classifyTicket ({CI_CHECKOUT}/evals/triage.eval.ts:41:11)"
    kinds = allocate(rng, len(tickets), style.weights())
    rows, attempts = [], []
    for idx, ticket in enumerate(tickets):
        if idx in errors:
            failure = make_failure(errors[idx], model, idx, rng, CI_CHECKOUT, frame)
            attempt = failed_attempt(failure)
        else:
            attempt = answer_ticket(ticket, style, rng, kinds[idx])
        attempts.append(attempt)
        scores = score_ticket(ticket, attempt)
        rows.append(case_row(idx, ticket.record(), attempt, scores, rng.randint(0, 2)))
    return rows, attempts


def failing(rows: list[CaseRow], threshold: float = 0.5) -> list[int]:
    """idx values getFailingCases(run, threshold) returns: cases with a score below it."""
    return [row.idx for row in rows if any(score < threshold for _, score, _ in row.scores)]


def build(rng: random.Random) -> Timeline:
    tl = Timeline(rng)

    # prompts, as the team iterated on them
    qa_prompt_ids = [
        tl.prompt("qa-system", 1, QA_SYSTEM[0], BASE_MS + 7 * MIN + 13_482),
        tl.prompt("qa-system", 2, QA_SYSTEM[1], BASE_MS + DAY + 1 * HOUR + 14 * MIN + 9_903),
        tl.prompt("qa-system", 3, QA_SYSTEM[2], BASE_MS + 5 * DAY + 6 * HOUR + 2 * MIN + 51_330),
    ]
    tl.prompt("intent-classifier", 1, INTENT_CLASSIFIER[0], BASE_MS + 52 * MIN + 4_117)
    tl.prompt("intent-classifier", 2, INTENT_CLASSIFIER[1], BASE_MS + 2 * DAY + 4 * HOUR + 31_775)

    # qa-accuracy: one suite, runs from the web runner
    items = qa_dataset(rng)
    qa_suite = tl.suite("qa-accuracy", BASE_MS + DAY + 1 * HOUR + 31 * MIN + 2_206)

    claude_errors = pick_errors(rng, items, {"429": 1})
    claude = qa_attempts(items, "claude-sonnet-4-5", "claude", claude_errors, rng)
    tl.run(
        RunSpec(
            qa_suite,
            "qa-accuracy [claude-sonnet-4-5]",
            "claude-sonnet-4-5",
            qa_config("claude-sonnet-4-5", qa_prompt_ids[1], 2, 8),
            BASE_MS + DAY + 1 * HOUR + 31 * MIN + 7_077,
            8,
            QA_SCORERS,
            qa_cases(items, claude, rng),
        )
    )

    gpt_errors = pick_errors(rng, items, {"429": 4, "503": 1, "timeout": 3})
    gpt = qa_attempts(items, "gpt-4o-mini", "gpt", gpt_errors, rng)
    gpt_config = qa_config("gpt-4o-mini", qa_prompt_ids[2], 3, 8)
    tl.run(
        RunSpec(
            qa_suite,
            "qa-accuracy [gpt-4o-mini]",
            "gpt-4o-mini",
            gpt_config,
            BASE_MS + 5 * DAY + 7 * HOUR + 19 * MIN + 7_041,
            8,
            QA_SCORERS,
            qa_cases(items, gpt, rng),
        )
    )
    rerun = noisy_rerun(items, gpt, rng)
    tl.run(
        RunSpec(
            qa_suite,
            "qa-accuracy [gpt-4o-mini]",
            "gpt-4o-mini",
            dict(gpt_config),
            BASE_MS + 5 * DAY + 8 * HOUR + 3 * MIN + 26_690,
            8,
            QA_SCORERS,
            qa_cases(items, rerun, rng),
        )
    )
    tl.run(
        RunSpec(
            qa_suite,
            "qa-accuracy [broken-model]",
            "broken-model",
            qa_config("broken-model", qa_prompt_ids[2], 3, 4),
            BASE_MS + 6 * DAY + 2 * HOUR + 44_123,
            4,
            QA_SCORERS,
            qa_cases(items, broken_attempts(items, rng), rng),
            status="failed",
            saved=3,
        )
    )
    o3 = qa_attempts(items, "o3-mini", "o3", {}, rng)
    tl.run(
        RunSpec(
            qa_suite,
            "qa-accuracy [o3-mini]",
            "o3-mini",
            qa_config("o3-mini", qa_prompt_ids[1], 2, 6),
            BASE_MS + 6 * DAY + 2 * HOUR + 27 * MIN + 15_980,
            6,
            QA_SCORERS,
            qa_cases(items, o3, rng),
            status="running",
            saved=40,
            last_unscored=True,
        )
    )

    # support-triage: evaluate({models: [...]}) creates one suite and runs both models at once
    tickets = triage_dataset(rng)
    triage_at = BASE_MS + 2 * DAY + 5 * HOUR + 3 * MIN + 40_118
    triage_suite = tl.suite("support-triage", triage_at)
    triage_errors = rate_limited(rng, len(tickets), 2)
    gpt_rows, gpt_attempts = triage_cases(tickets, "gpt-4o-mini", triage_errors, rng)
    claude_rows, _ = triage_cases(tickets, "claude-sonnet-4-5", {}, rng)
    for model, rows in (("gpt-4o-mini", gpt_rows), ("claude-sonnet-4-5", claude_rows)):
        tl.run(
            RunSpec(
                triage_suite,
                f"support-triage [{model}]",
                model,
                None,
                triage_at + 1,
                10,
                TRIAGE_SCORERS,
                rows,
            )
        )

    # .failed(): a new suite with the same name, only the failing cases, idx renumbered from 0
    retry_at = BASE_MS + 2 * DAY + 5 * HOUR + 26 * MIN + 8_554
    retry_suite = tl.suite("support-triage", retry_at)
    retry_rows = []
    style = TRIAGE_STYLES["gpt-4o-mini"]
    for new_idx, old_idx in enumerate(failing(gpt_rows)):
        ticket, before = tickets[old_idx], gpt_attempts[old_idx]
        if before.kind == "error" or rng.random() < 0.3:
            attempt = answer_ticket(ticket, style, rng)
        else:
            attempt = replace(before, latency_ms=rng.randint(*style.latency))
        scores = score_ticket(ticket, attempt)
        retry_rows.append(case_row(new_idx, ticket.record(), attempt, scores, rng.randint(0, 2)))
    tl.run(
        RunSpec(
            retry_suite,
            "support-triage [gpt-4o-mini]",
            "gpt-4o-mini",
            None,
            retry_at + 1,
            10,
            TRIAGE_SCORERS,
            retry_rows,
        )
    )
    return tl


def main() -> None:
    for suffix in ("", "-wal", "-shm", "-journal"):
        Path(f"{OUT}{suffix}").unlink(missing_ok=True)
    rng = random.Random(SEED)
    timeline = build(rng)
    conn = sqlite3.connect(OUT, isolation_level="DEFERRED")
    try:
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = NORMAL")
        conn.execute("PRAGMA foreign_keys = ON")
        conn.executescript(PACKAGE_SCHEMA)
        timeline.play(conn)
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        conn.close()
    # evaltui stamps `imported_at` with the wall clock; a fixed one keeps the file reproducible.
    writer.now_ms = lambda: TRACES_IMPORTED_AT
    stats = write_sample_traces(OUT, [TRACED_RUN], big_trace_spans=10_000)
    conn = sqlite3.connect(OUT)
    try:
        conn.execute("VACUUM")
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        conn.close()
    for suffix in ("-wal", "-shm"):
        Path(f"{OUT}{suffix}").unlink(missing_ok=True)
    print(f"added {stats.traces} traces, {stats.spans} spans")
    print(f"wrote {OUT.relative_to(ROOT)} ({OUT.stat().st_size:,} bytes)")


if __name__ == "__main__":
    main()
