"""TETRA identities ([AI] 7.2): a TSI is a network (MCC, 10 bits; MNC, 14 bits) and a
short subscriber identity (SSI, 24 bits: an ISSI for a radio, a GSSI for a talkgroup).

People and PEIs write them in several ways: an SSI alone (up to 8 digits, in the home
network), the 15-digit TSI of the PEI (MCC 3 digits, MNC 4, SSI 8: ``716000101234567``)
and the 17-digit form some gateways use (MCC 4, MNC 5, SSI 8). :func:`parse` takes any
of them (spaces, dots and dashes between digit groups allowed) and gives one
:class:`Tsi`; :meth:`Tsi.pei` writes it as a PEI command wants it (the SSI alone, type 0,
in the home network; the 15-digit TSI, type 1, elsewhere). Peru's MCC is 716.
"""

import re
from dataclasses import dataclass

PERU_MCC = 716
MAX_MCC = 1023
MAX_MNC = 16383
MAX_SSI = 0xFFFFFF  # 16777215: 8 decimal digits at most
SEPARATORS = re.compile(r"[\s.\-]")


class IdentityError(ValueError):
    """Not a TETRA identity: what is wrong, in words."""


@dataclass(frozen=True, order=True, slots=True)
class Network:
    mcc: int
    mnc: int

    def __post_init__(self) -> None:
        if not 0 <= self.mcc <= MAX_MCC:
            raise IdentityError(f"MCC {self.mcc} is not 0 to {MAX_MCC}")
        if not 0 <= self.mnc <= MAX_MNC:
            raise IdentityError(f"MNC {self.mnc} is not 0 to {MAX_MNC}")


@dataclass(frozen=True, order=True, slots=True)
class Tsi:
    mcc: int
    mnc: int
    ssi: int

    def __post_init__(self) -> None:
        Network(self.mcc, self.mnc)
        if not 1 <= self.ssi <= MAX_SSI:
            raise IdentityError(f"SSI {self.ssi} is not 1 to {MAX_SSI}")

    @property
    def network(self) -> Network:
        return Network(self.mcc, self.mnc)

    def __str__(self) -> str:
        """The 15-digit TSI (the 17-digit form for an MCC over 999 or an MNC over 9999,
        which 15 digits cannot write)."""
        if self.mcc > 999 or self.mnc > 9999:
            return f"{self.mcc:04d}{self.mnc:05d}{self.ssi:08d}"
        return f"{self.mcc:03d}{self.mnc:04d}{self.ssi:08d}"

    def pei(self, home: Network) -> tuple[str, int]:
        """(identity, identity type) for a PEI command: ``(SSI, 0)`` in ``home``, else
        ``(15-digit TSI, 1)``."""
        if self.network == home:
            return str(self.ssi), 0
        return str(self), 1


def parse(text: str, home: Network) -> Tsi:
    """The identity ``text`` names (an SSI alone is in ``home``)."""
    digits = SEPARATORS.sub("", text.strip())
    if not digits or not digits.isascii() or not digits.isdigit():
        raise IdentityError(f"«{text[:30]}» is not a TETRA identity (digits only)")
    if len(digits) <= 8:
        return Tsi(home.mcc, home.mnc, int(digits))
    if len(digits) == 15:
        return Tsi(int(digits[:3]), int(digits[3:7]), int(digits[7:]))
    if len(digits) == 17:
        return Tsi(int(digits[:4]), int(digits[4:9]), int(digits[9:]))
    raise IdentityError(
        f"«{text[:30]}» has {len(digits)} digits: an SSI has up to 8, a TSI 15 (or 17)"
    )


def from_pei(identity: str, kind: str, home: Network) -> Tsi:
    """An identity as a PEI indication gives it, with its identity type (0 SSI, 1 TSI;
    an empty type is read from the length)."""
    if kind not in ("", "0", "1"):
        raise IdentityError(f"identity type {kind!r} is not 0 or 1")
    found = parse(identity, home)
    if kind == "1" and len(identity) <= 8:
        raise IdentityError(f"a TSI of {len(identity)} digits")
    return found
