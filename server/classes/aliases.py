"""Projector aliases: each student gets a friendly name ("Brave Otter") chosen by the server,
unique in the class, kept with the student. Anything projected shows these, never real names,
unless the teacher chooses to show names.

36 adjectives x 40 animals = 1,440 pairs; past that (a class never gets there: students per
class are capped far lower) a number is added ("Brave Otter 2").
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable

ADJECTIVES = (
    "Brave", "Calm", "Clever", "Cosy", "Curious", "Daring", "Eager", "Fancy", "Fearless",
    "Friendly", "Gentle", "Glad", "Happy", "Jolly", "Keen", "Kind", "Lively", "Lucky",
    "Merry", "Mighty", "Nimble", "Patient", "Plucky", "Polite", "Proud", "Quick", "Quiet",
    "Rapid", "Sunny", "Swift", "Tidy", "Tiny", "Witty", "Wise", "Zany", "Zippy",
)  # fmt: skip
ANIMALS = (
    "Otter", "Badger", "Beaver", "Bison", "Camel", "Cheetah", "Crane", "Dolphin", "Eagle",
    "Falcon", "Ferret", "Finch", "Fox", "Gecko", "Heron", "Ibis", "Koala", "Lemur", "Lynx",
    "Marmot", "Moose", "Newt", "Ocelot", "Owl", "Panda", "Parrot", "Penguin", "Puffin",
    "Rabbit", "Raven", "Robin", "Seal", "Sloth", "Swan", "Tapir", "Tiger", "Toucan", "Walrus",
    "Wombat", "Yak",
)  # fmt: skip


def new_alias(taken: Iterable[str]) -> str:
    """A random alias not in `taken` (compared without case)."""
    used = {t.casefold() for t in taken}
    free = [f"{a} {b}" for a in ADJECTIVES for b in ANIMALS if f"{a} {b}".casefold() not in used]
    if free:
        return secrets.choice(free)
    base = f"{secrets.choice(ADJECTIVES)} {secrets.choice(ANIMALS)}"
    n = 2
    while f"{base} {n}".casefold() in used:
        n += 1
    return f"{base} {n}"
