"""Customers' personal data replaced consistently, so a recording can live in a repository.

Personal is decided by name, as the contract names things: the properties and parameters in
`PERSONAL` (ids, names, e-mails, phone numbers, addresses, the search text) and any whose name
ends in `email`. A value is replaced by a fake that depends on the value alone (seeded by its
hash), so the same real customer gets the same fake in every path, query and body of a
recording, run after run: an e-mail by an e-mail, a name by a name (`asm_mock.contract.generate`
picks realistic values by property name), an id by an id of the same shape (digits for digits,
hex for hex, letters for letters, separators kept). A personal value met earlier is also cut out
of free text (an error message naming the customer).
"""

from __future__ import annotations

import random
import string
from typing import Any

from asm_mock.contract.generate import generate, seed_of

__all__ = ["PERSONAL", "Pseudonyms", "is_personal"]

# by property or parameter name; customerId and agentId are also path parameters, query the
# search text (a name, an e-mail or an id)
_IDS = {"uid", "displayUid", "customerId", "customerUid", "agentId", "userId", "query"}
_NAMED = {"name", "firstName", "lastName", "fullName", "displayName", "town", "city", "line1"}
_NAMED |= {"line2", "street", "streetName"}
_SHAPED = {"phone", "phoneNumber", "cellphone", "postalCode", "zip"}
PERSONAL = frozenset(_IDS | _NAMED | _SHAPED)
_STRING = {"type": "string"}
_SHORTEST_IN_TEXT = 4  # shorter values are not cut out of text: they would mangle words
_HEX = frozenset("0123456789abcdefABCDEF-")


def is_personal(name: str) -> bool:
    return name in PERSONAL or name.lower().endswith("email")


def _same_shape(value: str, rng: random.Random) -> str:
    hexadecimal = set(value) <= _HEX
    out = []
    for c in value:
        if c.isdigit():
            out.append(rng.choice(string.digits))
        elif hexadecimal and c.isalpha():
            out.append(rng.choice("abcdef" if c.islower() else "ABCDEF"))
        elif c.isascii() and c.islower():
            out.append(rng.choice(string.ascii_lowercase))
        elif c.isascii() and c.isupper():
            out.append(rng.choice(string.ascii_uppercase))
        else:
            out.append(c)
    return "".join(out)


class Pseudonyms:
    """Real value -> fake, for one recording (and the same for every recording)."""

    def __init__(self) -> None:
        self._fakes: dict[str, str] = {}
        self._reals: dict[str, str] = {}  # fake -> real: two customers never share a fake

    def fake(self, name: str, value: str) -> str:
        """The fake for `value`, a `name` property or parameter (which picks its kind)."""
        if not value or value in self._reals:  # empty, or already a fake of ours
            return value
        known = self._fakes.get(value)
        if known is not None:
            return known
        for attempt in range(100):
            seed = seed_of("pseudonym", value, attempt)
            if "@" in value:
                made = str(generate(_STRING, seed=seed, name="email"))
            elif name in _NAMED:
                made = str(generate(_STRING, seed=seed, name=name))
            else:
                made = _same_shape(value, random.Random(seed))
            if made != value and made not in self._reals and made not in self._fakes:
                break
        self._fakes[value] = made
        self._reals[made] = value
        return made

    def text(self, value: str) -> str:
        """`value` with every personal value met so far replaced by its fake."""
        for real in sorted(self._fakes, key=len, reverse=True):
            if len(real) >= _SHORTEST_IN_TEXT and real in value:
                value = value.replace(real, self._fakes[real])
        return value

    def learn(self, value: Any, name: str = "") -> Any:
        """`value` (JSON) with its personal properties replaced (their fakes remembered)."""
        if isinstance(value, dict):
            return {k: self.learn(v, k) for k, v in value.items()}
        if isinstance(value, list):
            return [self.learn(item, name) for item in value]
        if isinstance(value, str) and is_personal(name):
            return self.fake(name, value)
        return value

    def rewrite(self, value: Any) -> Any:
        """`value` (JSON, after `learn`) with personal values left in its text replaced."""
        if isinstance(value, dict):
            return {k: self.rewrite(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.rewrite(item) for item in value]
        if isinstance(value, str) and value not in self._reals:  # a fake stays as it is
            return self.text(value)
        return value
