"""The domain of voicebridge: incidents, reports, agencies, attempts and acknowledgements.

It owns the models, the Lima reference data (districts, the category taxonomy), the
incident store with its append-only event log and the task outbox. It never imports
``voicebridge``, ``channels``, ``tetra``, panoramisk or aiohttp: what it needs from the
outside is named in :mod:`routing.ports`.
"""
