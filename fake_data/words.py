"""Faker's en_US word lists with Faker's own frequency weights, sampled vectorized.

Faker's providers are the data (names with US frequency weights, street suffixes); this module
loads them once into Arrow arrays and samples integer indices with numpy, so a million names
cost one ``searchsorted`` instead of a million Python calls.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache

import numpy as np
import pyarrow as pa
from faker.providers.address.en_US import Provider as AddressProvider
from faker.providers.person.en_US import Provider as PersonProvider


@dataclass(frozen=True)
class WordList:
    """Words and the cumulative probability of each, ready for inverse-CDF sampling."""

    words: pa.Array
    cdf: np.ndarray

    @classmethod
    def weighted(cls, weights: Mapping[str, float]) -> WordList:
        p = np.fromiter(weights.values(), dtype=np.float64, count=len(weights))
        return cls(pa.array(list(weights), pa.string()), np.cumsum(p / p.sum()))

    @classmethod
    def uniform(cls, words: Sequence[str]) -> WordList:
        return cls.weighted(dict.fromkeys(words, 1.0))

    def indices(self, rng: np.random.Generator, n: int) -> np.ndarray:
        idx = np.searchsorted(self.cdf, rng.random(n), side="right")
        return np.minimum(idx, len(self.cdf) - 1).astype(np.int32)

    def sample(self, rng: np.random.Generator, n: int) -> pa.DictionaryArray:
        return self.dictionary(self.indices(rng, n))

    def dictionary(self, indices: np.ndarray) -> pa.DictionaryArray:
        return pa.DictionaryArray.from_arrays(pa.array(indices, pa.int32()), self.words)

    def __len__(self) -> int:
        return len(self.cdf)


@cache
def first_names_female() -> WordList:
    return WordList.weighted(PersonProvider.first_names_female)


@cache
def first_names_male() -> WordList:
    return WordList.weighted(PersonProvider.first_names_male)


@cache
def last_names() -> WordList:
    return WordList.weighted(PersonProvider.last_names)


@cache
def street_suffixes() -> WordList:
    return WordList.uniform(AddressProvider.street_suffixes)


@cache
def _first_name_union() -> tuple[pa.Array, np.ndarray, np.ndarray]:
    """One dictionary of distinct first names (some names are on both lists) and where each
    list's words sit in it; a dictionary with repeated words does not write deterministically."""
    female = first_names_female().words.to_pylist()
    male = first_names_male().words.to_pylist()
    union = list(dict.fromkeys(female + male))
    at = {word: i for i, word in enumerate(union)}
    return (pa.array(union, pa.string()), np.array([at[w] for w in female], dtype=np.int32),
            np.array([at[w] for w in male], dtype=np.int32))


def first_names(rng: np.random.Generator, female: np.ndarray) -> pa.DictionaryArray:
    """First names by sex: Faker's female list where `female`, its male list elsewhere."""
    words, female_at, male_at = _first_name_union()
    f_idx = female_at[first_names_female().indices(rng, len(female))]
    m_idx = male_at[first_names_male().indices(rng, len(female))]
    idx = np.where(female, f_idx, m_idx).astype(np.int32)
    return pa.DictionaryArray.from_arrays(pa.array(idx, pa.int32()), words)


def decode(arr: pa.Array) -> pa.Array:
    """A plain string array from a dictionary array (or the array itself)."""
    if isinstance(arr, pa.DictionaryArray):
        return arr.dictionary.take(arr.indices)
    return arr
