"""The Spanish voice prompts the dialplan templates play, and their builder.

:data:`PROMPTS` is the single source of the fixed phrases (prompt name -> Spanish text);
the templates refer to the same names. Each category of
:data:`routing.categories.CATEGORIES` also has a prompt, ``categoria-<code>``, that
speaks the category's label. Numbers are not synthesised: the dialplan speaks them digit
by digit with Asterisk's own Spanish digits, ``digits/<0-9>`` (:data:`DIGITS_DIR`), and
pauses with its ``silence/1`` (:data:`PAUSE_DIR`, :data:`PAUSE_PROMPT`), both from the
package asterisk-core-sounds-es.

:func:`build_prompts` synthesises every prompt with espeak-ng (Latin-American Spanish
voice) piped to sox, and writes what Asterisk plays without transcoding: 8 kHz, mono,
16-bit signed PCM WAV, as ``<out_dir>/es/vb/<name>.wav`` (``out_dir`` is Asterisk's
sounds directory, so ``Playback(vb/<name>)`` finds them on a channel whose language is
``es``).
"""

import os
import shutil
import subprocess
from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Final

from dialplans.citizen import MENU, menu_text
from dialplans.errors import PromptBuildFailed, ToolMissing
from routing.categories import CATEGORIES
from routing.districts import DISTRICTS

PROMPT_DIR: Final = "vb"
"""The sub-directory of the language's sounds directory that holds our prompts."""

LANGUAGE: Final = "es"
CATEGORY_PREFIX: Final = "categoria-"
DIGITS_DIR: Final = "digits"
"""Asterisk's core sounds directory of the spoken digits, ``digits/0`` to ``digits/9``."""
PAUSE_DIR: Final = "silence"
PAUSE_PROMPT: Final = "1"
"""Asterisk's core sound ``silence/1``: one second of silence."""

PROMPTS: Final[Mapping[str, str]] = MappingProxyType(
    {
        "ack-intro": "Centro de coordinación de emergencias. Incidente",
        "ack-menu": (
            "Marque 1 para aceptar y unirse a la conferencia con el operador, "
            "2 para rechazar, 9 para repetir"
        ),
        "ack-accepted": "Aceptado. Le comunicamos con el operador.",
        "ack-declined": "Rechazado. Llamaremos a otra unidad.",
        "ack-no-answer": "No se registró su respuesta.",
        # the responder line check (vb-check)
        "check-intro": "Prueba del CIC-SC: presione 1 para confirmar.",
        "check-confirmed": "Línea confirmada. Gracias.",
        "check-no-key": "No se recibió la confirmación. Hasta luego.",
        # the citizen IVR (vb-citizen); its two menus are said from dialplans.citizen
        "citizen-welcome": "Central de emergencias de",
        "citizen-welcome-centre": "Centro de coordinación de emergencias de Lima Metropolitana.",
        "citizen-invalid": "Esa opción no es válida.",
        "citizen-silent": "No escuchamos ninguna opción.",
        "citizen-district": (
            "Marque los dos dígitos de su distrito. Por ejemplo: cero uno para el Cercado "
            "de Lima, dos dos para Miraflores."
        ),
        "citizen-you-dialled": "Usted marcó",
        "citizen-confirm": "Marque 1 para confirmar, o 2 para corregir.",
        "citizen-registering": "Estamos registrando su reporte. Por favor, no cuelgue.",
        "citizen-number": "Su reporte fue registrado con el número",
        "citizen-bridge": "Le comunicamos con el operador de su central. No cuelgue.",
        "citizen-to-operator": "Le comunicamos con un operador. No cuelgue.",
        "citizen-goodbye": "Gracias. Un operador de la central atenderá su reporte. Hasta luego.",
        "citizen-sorry": "No pudimos registrar su reporte. Por favor, llame nuevamente.",
    }
)
MENU_PROMPT: Final = "citizen-menu"
SERVICES_PROMPT: Final = "citizen-menu-"
"""``citizen-menu-<key>``: the second menu behind a first-level key (6)."""
DISTRICT_PREFIX: Final = "distrito-"
"""``distrito-<NN>``: a district's name, NN the last two digits of its UBIGEO."""

VOICE: Final = "es-419"
"""espeak-ng's Latin-American Spanish voice."""

SPEED: Final = 150
"""Words per minute (espeak-ng's default is 175): a little slower, for phone lines."""

_TIMEOUT: Final = 60.0


def category_prompt(code: str) -> str:
    """The prompt name of a category: ``categoria-<code>``."""
    return f"{CATEGORY_PREFIX}{code}"


def district_prompt(ubigeo: str) -> str:
    """The prompt name of a district: ``distrito-<NN>``."""
    return f"{DISTRICT_PREFIX}{ubigeo[-2:]}"


def menu_prompts() -> dict[str, str]:
    """The citizen IVR's menus, name -> what they say (:mod:`dialplans.citizen`)."""
    texts = {MENU_PROMPT: menu_text(MENU)}
    texts.update({f"{SERVICES_PROMPT}{o.key}": menu_text(o.options) for o in MENU if o.options})
    return texts


def all_prompts() -> dict[str, str]:
    """Every prompt to build, name -> Spanish text: the fixed phrases, the citizen
    IVR's menus, one per category speaking its label, one per district its name."""
    texts = dict(PROMPTS)
    texts.update(menu_prompts())
    texts.update({category_prompt(c.code): c.label for c in CATEGORIES})
    texts.update({district_prompt(d.ubigeo): d.name for d in DISTRICTS})
    return texts


def _program(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise ToolMissing(name)
    return path


def _run(command: list[str], data: bytes, *, prompt: str, program: str) -> bytes:
    try:
        done = subprocess.run(  # noqa: S603 (fixed argv, no shell; text goes on stdin)
            command, input=data, capture_output=True, check=False, timeout=_TIMEOUT
        )
    except (OSError, subprocess.TimeoutExpired) as error:
        raise PromptBuildFailed(prompt, program, str(error)) from error
    if done.returncode != 0:
        detail = done.stderr.decode("utf-8", "replace").strip() or f"exit {done.returncode}"
        raise PromptBuildFailed(prompt, program, detail)
    return done.stdout


def _synthesise(name: str, text: str, target: Path, *, espeak: str, sox: str) -> None:
    speech = _run(
        [espeak, "-v", VOICE, "-s", str(SPEED), "-b", "1", "--stdin", "--stdout"],
        text.encode("utf-8"),
        prompt=name,
        program="espeak-ng",
    )
    if not speech:
        raise PromptBuildFailed(name, "espeak-ng", "produced no audio")
    partial = target.with_name(f".{target.stem}.partial.wav")
    try:
        _convert(name, speech, partial, sox=sox)
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)


def _convert(name: str, speech: bytes, partial: Path, *, sox: str) -> None:
    _run(
        [
            sox,
            "-V1",  # errors only: espeak-ng's streamed WAV header has no length
            "--no-dither",  # the same input gives the same bytes
            "-t",
            "wav",
            "-",
            "-t",
            "wav",
            "-r",
            "8000",
            "-c",
            "1",
            "-b",
            "16",
            "-e",
            "signed-integer",
            str(partial),
            "gain",
            "-n",
            "-3",  # peaks at -3 dBFS: every prompt equally loud
        ],
        speech,
        prompt=name,
        program="sox",
    )


def build_prompts(out_dir: Path, *, espeak: str = "espeak-ng", sox: str = "sox") -> list[Path]:
    """Synthesise every prompt of :func:`all_prompts` into ``out_dir/es/vb/<name>.wav``
    (8 kHz, mono, 16-bit signed PCM) and return the paths written, in order.

    Raises :class:`~dialplans.errors.ToolMissing` naming espeak-ng or sox when one is not
    installed, and :class:`~dialplans.errors.PromptBuildFailed` when one fails."""
    espeak_path = _program(espeak)
    sox_path = _program(sox)
    folder = out_dir / LANGUAGE / PROMPT_DIR
    folder.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    for name, text in all_prompts().items():
        target = folder / f"{name}.wav"
        _synthesise(name, text, target, espeak=espeak_path, sox=sox_path)
        written.append(target)
    return written
