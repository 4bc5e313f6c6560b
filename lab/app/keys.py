"""Session-state keys, one namespace per page (and one for the shared sidebar).

``OPT("steps")`` is ``"opt.steps"``; ``OPT("hp", "Adam", "lr")`` is ``"opt.hp.Adam.lr"``. Every key a
page writes goes through its namespace, so a key is spelled in one place and a page's keys can be
found by prefix (the entrypoint keeps every page's inputs alive that way).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Namespace:
    prefix: str  # e.g. "opt"

    def __call__(self, *parts: object) -> str:
        return ".".join((self.prefix, *(str(p) for p in parts)))

    def owns(self, key: object) -> bool:
        return str(key).startswith(self.prefix + ".")


SHARED = Namespace("shared")  # the sidebar: device, seed, data; the URL state
AUTOGRAD = Namespace("ag")
API = Namespace("api")
OPT = Namespace("opt")
GPU = Namespace("gpu")
CLASS = Namespace("class")
PAGES = (AUTOGRAD, API, OPT, GPU, CLASS)  # each page's inputs; kept alive across page visits
