"""What to send: a weighted mix of symbologies and formats from a JSON file, each request with
unique data (so the generator renders instead of finding a stored object)."""
from __future__ import annotations

import itertools
import json
import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

DEFAULT_MIX = Path(__file__).with_name("mix.json")


@dataclass(frozen=True)
class Template:
    symbology: str
    format: str
    data: str  # {n}: request number; {n12}: request number as 12 digits (EAN-13 without check)
    weight: float
    extra: dict[str, Any] = field(default_factory=dict)  # other request fields: options, company, progress

    def request(self, n: int, salt: int) -> dict[str, Any]:
        number = salt * 1_000_000 + n
        return {**self.extra, "symbology": self.symbology, "format": self.format,
                "data": self.data.format(n=number, n12=f"{number % 10**12:012d}")}


class LabelMix:
    """A label printer's day: Code 128 of `skus` product codes, drawn by popularity (Zipf, rank k
    with weight 1 / k^s), so most requests repeat one already made. Same interface as Mix."""

    def __init__(self, skus: int = 2000, s: float = 1.1, seed: int = 1) -> None:
        self.codes = [f"SKU-{k:05d}" for k in range(1, skus + 1)]
        self._weights = list(itertools.accumulate(1 / k ** s for k in range(1, skus + 1)))
        self._random = random.Random(seed)

    def request(self) -> dict[str, Any]:
        code = self._random.choices(self.codes, cum_weights=self._weights)[0]
        return {"symbology": "code128", "format": "png", "data": code}


class Mix:
    def __init__(self, templates: list[Template], seed: int = 1) -> None:
        if not templates:
            raise ValueError("the mix is empty")
        self.templates = templates
        self._random = random.Random(seed)
        self._salt = random.Random().randrange(1, 10**6)  # new data on every run of the tool
        # Numbered per Mix, not per run: ramp steps and repeated runs share one Mix and must
        # not send the data of an earlier step again (it would be a cache hit, not a render).
        self._sent = itertools.count()

    @classmethod
    def load(cls, path: Path = DEFAULT_MIX) -> "Mix":
        items = json.loads(path.read_text())
        own = {"symbology", "format", "data", "weight"}
        return cls([Template(i["symbology"], i.get("format", "png"), i["data"], float(i.get("weight", 1)),
                             {k: v for k, v in i.items() if k not in own}) for i in items])

    def request(self) -> dict[str, Any]:
        template = self._random.choices(self.templates, weights=[t.weight for t in self.templates])[0]
        return template.request(next(self._sent) % 10**6, self._salt)
