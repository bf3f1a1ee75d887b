"""Typed application state of the aiohttp app."""

from aiohttp import web

from voicebridge.ami.bridge import Bridge
from voicebridge.ami.citizens import CallTaker
from voicebridge.ami.linechecks import LineChecker
from voicebridge.apikeys import RevocationWatch
from voicebridge.blocking import Blocking
from voicebridge.citizens.intake import ChannelIntake
from voicebridge.intake import IntakeWriter
from voicebridge.metrics import Metrics
from voicebridge.radio import RadioDriver
from voicebridge.runtime import Runtime

RUNTIME = web.AppKey("runtime", Runtime)
BLOCKING = web.AppKey("blocking", Blocking)
METRICS = web.AppKey("metrics", Metrics)
INTAKE = web.AppKey("intake", IntakeWriter)
REVOCATION_WATCH = web.AppKey("revocation_watch", RevocationWatch)
CHANNELS = web.AppKey("channels", ChannelIntake)  # the citizens' channels' intake
BRIDGE = web.AppKey("bridge", Bridge)  # absent without VOICEBRIDGE_AMI_URL
CALL_TAKER = web.AppKey("call_taker", CallTaker)  # the citizen IVR's calls; the same
LINE_CHECKER = web.AppKey("line_checker", LineChecker)  # the line checks' calls; the same
RADIO = web.AppKey("radio", RadioDriver)  # absent without VOICEBRIDGE_TETRA_PEI
