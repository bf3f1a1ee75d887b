"""The citizens' conversations, SMS (:mod:`.sms`) and Telegram (:mod:`.telegram`), as
pure state machines: no I/O, no clock (the time comes in), no logging. Their state is a
small JSON-serialisable value the integrator stores per number or chat; the reader of
free text (``routing.normalise.read_message``) is injected. Their texts are in
:mod:`channels.texts`.

This package's ``__init__`` imports nothing: :mod:`channels.texts` uses
:mod:`.gsm7`, and the machines use :mod:`channels.texts`."""
