"""The Spanish prompts: the catalogue, and a real build when espeak-ng and sox exist."""

import shutil
import struct
import wave
from pathlib import Path

import pytest

from dialplans import escape
from dialplans.citizen import MENU, OPERATOR_KEY, choices
from dialplans.errors import PromptBuildFailed, ToolMissing
from dialplans.prompts import (
    PROMPTS,
    all_prompts,
    build_prompts,
    category_prompt,
    district_prompt,
    menu_prompts,
)
from routing.categories import CATEGORIES, find_category
from routing.districts import DISTRICTS

HAVE_TOOLS = shutil.which("espeak-ng") is not None and shutil.which("sox") is not None
needs_tools = pytest.mark.skipif(
    not HAVE_TOOLS, reason="espeak-ng or sox missing: apt-get install espeak-ng sox"
)


def test_the_fixed_phrases() -> None:
    assert PROMPTS["ack-intro"] == "Centro de coordinación de emergencias. Incidente"
    assert PROMPTS["ack-menu"] == (
        "Marque 1 para aceptar y unirse a la conferencia con el operador, "
        "2 para rechazar, 9 para repetir"
    )
    assert PROMPTS["ack-accepted"] == "Aceptado. Le comunicamos con el operador."
    assert PROMPTS["ack-declined"] == "Rechazado. Llamaremos a otra unidad."
    assert PROMPTS["ack-no-answer"] == "No se registró su respuesta."
    assert PROMPTS["check-intro"] == "Prueba del CIC-SC: presione 1 para confirmar."
    assert PROMPTS["check-confirmed"] == "Línea confirmada. Gracias."
    assert PROMPTS["check-no-key"] == "No se recibió la confirmación. Hasta luego."
    with pytest.raises(TypeError):
        PROMPTS["x"] = "y"  # type: ignore[index]


def test_every_category_and_district_has_a_prompt_speaking_its_name() -> None:
    texts = all_prompts()
    for category in CATEGORIES:
        assert texts[category_prompt(category.code)] == category.label
    for district in DISTRICTS:
        assert texts[district_prompt(district.ubigeo)] == district.name
    assert texts[district_prompt("150122")] == "Miraflores"
    menus = menu_prompts()
    assert texts["citizen-menu"].startswith("Marque 1 para robo o asalto; 2, accidente")
    assert texts["citizen-menu-6"].startswith("Marque 1 para agua o desagüe; 2, un corte de luz")
    assert len(texts) == len(PROMPTS) + len(menus) + len(CATEGORIES) + len(DISTRICTS)


def test_every_choice_of_the_ivr_is_a_category_with_a_key_of_its_own() -> None:
    assert choices() == {
        "1": "asalto",
        "2": "accidente_transito",
        "3": "incendio",
        "4": "emergencia_medica",
        "5": "fuga_gas",
        "61": "aniego",
        "62": "corte_energia",
        "63": "cable_caido",
        "64": "buzon_sin_tapa",
    }
    for code in choices().values():
        assert find_category(code) is not None
    keys = [o.key for o in MENU]
    assert len(set(keys)) == len(keys)
    assert OPERATOR_KEY not in keys


def test_prompt_names_are_safe_file_names() -> None:
    for name in all_prompts():
        assert escape.identifier(name, name="prompt", kind="prompt") == name


def test_a_missing_espeak_is_named(tmp_path: Path) -> None:
    with pytest.raises(ToolMissing) as caught:
        build_prompts(tmp_path, espeak="no-such-espeak-ng")
    assert caught.value.program == "no-such-espeak-ng"
    assert str(caught.value) == (
        "no-such-espeak-ng is not installed (or not on PATH); "
        "install the prompt tools with: apt-get install espeak-ng sox"
    )
    assert not list(tmp_path.iterdir())


def test_a_missing_sox_is_named(tmp_path: Path) -> None:
    with pytest.raises(ToolMissing, match=r"^no-such-sox is not installed"):
        build_prompts(tmp_path, espeak="true", sox="no-such-sox")


def test_a_failing_program_is_reported(tmp_path: Path) -> None:
    with pytest.raises(PromptBuildFailed) as caught:
        build_prompts(tmp_path, espeak="false", sox="true")
    assert str(caught.value) == "prompt ack-intro: espeak-ng failed: exit 1"


def test_no_audio_is_reported(tmp_path: Path) -> None:
    with pytest.raises(PromptBuildFailed, match=r"^prompt ack-intro: espeak-ng failed: produced"):
        build_prompts(tmp_path, espeak="true", sox="true")


@needs_tools
def test_a_failing_sox_is_reported(tmp_path: Path) -> None:
    with pytest.raises(PromptBuildFailed, match=r"^prompt ack-intro: sox failed: exit 1"):
        build_prompts(tmp_path, sox="false")
    assert not list((tmp_path / "es" / "vb").glob("*.wav"))


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[Path]]:
    if not HAVE_TOOLS:
        pytest.skip("espeak-ng or sox missing: apt-get install espeak-ng sox")
    out = tmp_path_factory.mktemp("sounds")
    return out, build_prompts(out)


@needs_tools
def test_build_writes_every_prompt_under_es_vb(built: tuple[Path, list[Path]]) -> None:
    out, paths = built
    assert paths == [out / "es" / "vb" / f"{name}.wav" for name in all_prompts()]
    assert sorted(p.name for p in (out / "es" / "vb").iterdir()) == sorted(p.name for p in paths)


@needs_tools
def test_every_prompt_is_8khz_mono_16bit_pcm(built: tuple[Path, list[Path]]) -> None:
    _, paths = built
    for path in paths:
        data = path.read_bytes()
        assert data[:4] == b"RIFF", path.name
        assert data[8:16] == b"WAVEfmt ", path.name
        audio_format, channels, rate, _, _, bits = struct.unpack("<HHIIHH", data[20:36])
        assert (audio_format, channels, rate, bits) == (1, 1, 8000, 16), path.name
        with wave.open(str(path), "rb") as sound:
            assert sound.getframerate() == 8000
            assert sound.getnchannels() == 1
            assert sound.getsampwidth() == 2
            assert sound.getcomptype() == "NONE"
            seconds = sound.getnframes() / sound.getframerate()
        # a menu is the longest (a key stops it at once); every other prompt is short
        longest = 20 if path.stem in menu_prompts() else 15
        assert 0.3 < seconds < longest, (path.name, seconds)


@needs_tools
def test_longer_texts_give_longer_prompts(built: tuple[Path, list[Path]]) -> None:
    out, _ = built

    def seconds(name: str) -> float:
        with wave.open(str(out / "es" / "vb" / f"{name}.wav"), "rb") as sound:
            return sound.getnframes() / 8000

    assert seconds("ack-menu") > 4 > seconds(category_prompt("robo"))
