"""The SMS channel through Twilio: webhook signatures, inbound and status-callback forms,
TwiML answers, SMS segment counting, outbound sends with their retry policy, and the fake
Twilio of the tests and the demo (:mod:`channels.twilio.sim`, imported on its own).

Every module but :mod:`.outbound` (the twilio REST client) and the fake is pure: values
in, values out, no I/O, no logging.
"""

from channels.twilio.errors import (
    BadForm,
    Permanent,
    Retryable,
    SendError,
    TwilioChannelError,
    describe,
)
from channels.twilio.form import parse_form
from channels.twilio.inbound import InboundSms, parse_inbound
from channels.twilio.outbound import Sent, SmsSender, classify, send_retry
from channels.twilio.segments import Segments, fits_one_segment, segments
from channels.twilio.signature import (
    SETTINGS_HEADER,
    SIGNATURE_HEADER,
    public_request_url,
    sign,
    verify,
    verify_body,
)
from channels.twilio.status import MessageStatus, StatusReport, parse_status, status_retry
from channels.twilio.twiml import CONTENT_TYPE, twiml_reply

__all__ = [
    "CONTENT_TYPE",
    "SETTINGS_HEADER",
    "SIGNATURE_HEADER",
    "BadForm",
    "InboundSms",
    "MessageStatus",
    "Permanent",
    "Retryable",
    "Segments",
    "SendError",
    "Sent",
    "SmsSender",
    "StatusReport",
    "TwilioChannelError",
    "classify",
    "describe",
    "fits_one_segment",
    "parse_form",
    "parse_inbound",
    "parse_status",
    "public_request_url",
    "segments",
    "send_retry",
    "sign",
    "status_retry",
    "twiml_reply",
    "verify",
    "verify_body",
]
