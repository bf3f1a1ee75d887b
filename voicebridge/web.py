"""Typed application state of the aiohttp app."""

from aiohttp import web

from voicebridge.ami.bridge import Bridge
from voicebridge.blocking import Blocking
from voicebridge.intake import IntakeWriter
from voicebridge.metrics import Metrics
from voicebridge.runtime import Runtime

RUNTIME = web.AppKey("runtime", Runtime)
BLOCKING = web.AppKey("blocking", Blocking)
METRICS = web.AppKey("metrics", Metrics)
INTAKE = web.AppKey("intake", IntakeWriter)
BRIDGE = web.AppKey("bridge", Bridge)  # absent without VOICEBRIDGE_AMI_URL
