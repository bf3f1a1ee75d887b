"""What a citizen's free text says, as far as voicebridge can tell: the value every
channel (SMS, Telegram, the phone IVR's transcriptions, the API's descriptions) gets from
:func:`routing.normalise.read_message`."""

from dataclasses import dataclass

from routing.models import Priority

UNCLASSIFIED = "sin_clasificar"  # the category of a report nobody could classify yet

# what a reading may lack, in the words the reply asking for it uses
MISSING_CATEGORY = "categoria"
MISSING_PLACE = "lugar"


@dataclass(frozen=True, kw_only=True, slots=True)
class Reading:
    category: str  # a category code; UNCLASSIFIED when none fits
    priority: Priority  # the category's default, raised by words such as herido, fuego
    district: str | None  # UBIGEO named by the text (or the central's); None if neither
    district_source: str | None  # a routing.resolve.DistrictSource value, or None
    district_note: str  # Spanish evidence for the incident's log
    address: str | None  # the street address found, tidied: "Av. Abancay 123"
    address_key: str | None  # that address folded for matching: "av abancay 123"
    summary: str  # the text cleaned for operators: no control characters, one line
    raised_by: tuple[str, ...] = ()  # the words that raised the priority
    missing: tuple[str, ...] = ()  # MISSING_CATEGORY, MISSING_PLACE
