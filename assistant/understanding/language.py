"""The language of a shopper's message, by `lingua` (lingua-language-detector) over a handful of languages.

    detect_language("Ich suche bequeme Sneaker unter 80 Euro")            # "de"
    detect_language("ok")                                                  # "en": too short to tell

The shop speaks English, so English is the answer whenever the text cannot tell: fewer than `MIN_WORDS` words,
or no other language sure enough (`SURE`; or, for a message of `LONG_WORDS` words or more, `LIKELY` with
English at most `ENGLISH_AT_MOST`: "Ich suche bequeme Sneaker unter 80 Euro" is German 0.62, English 0.14). On
12,775 real and generated English shopper messages (RecQuest's human turns and the demo's training dialogues,
with their typos and product names) none was read as another language; of 26 requests written for the check
in six other languages, the two shortest were missed (docs/understanding.md). Setting the catalog's words
(product names, values) aside first did worse: it leaves the typos ("takke", "materiaal") to decide.

Why these languages and this mode: lingua's high-accuracy mode over seven Latin-script languages and a few with
their own scripts takes about 0.05 ms a message on one thread (first call builds the models: ~2 s, ~200 MB);
all 75 languages took 5.5 ms and 900 MB and scattered short Spanish or Italian over related languages, and the
low-accuracy mode read hundreds of short English messages as German or Dutch.
"""

from __future__ import annotations

import re
import threading
from typing import Any

MIN_WORDS = 3  # words (of two or more letters) a message needs before it can be other than English
SURE = 0.7  # lingua's confidence another language needs (0.5 let 18 of 12,775 English messages through) ...
LONG_WORDS, LIKELY, ENGLISH_AT_MOST = 5, 0.6, 0.15  # ... or less, in a longer message that is hardly English
LATIN = ("ENGLISH", "SPANISH", "GERMAN", "FRENCH", "ITALIAN", "PORTUGUESE", "DUTCH")
OWN_SCRIPT = ("RUSSIAN", "UKRAINIAN", "GREEK", "ARABIC", "HEBREW", "HINDI", "THAI", "CHINESE", "JAPANESE", "KOREAN")

_WORD = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)*")  # "I'll" is one word
_LOCK = threading.Lock()
_DETECTOR: Any = None


def _detector() -> Any:
    """lingua's detector, built once per process (lazily: only a reading pays for it)."""
    global _DETECTOR
    with _LOCK:
        if _DETECTOR is None:
            from lingua import Language, LanguageDetectorBuilder

            languages = [getattr(Language, name) for name in LATIN + OWN_SCRIPT]
            _DETECTOR = LanguageDetectorBuilder.from_languages(*languages).build()
    return _DETECTOR


def detect_language(text: str) -> str:
    """The ISO 639-1 code of the language `text` is written in; "en" when it cannot tell.

    Args:
        text: the shopper's message.

    Returns:
        A lower-case ISO 639-1 code such as "en", "de", "es".
    """
    words = [w for w in _WORD.findall(text) if len(w) >= 2]
    if len(words) < MIN_WORDS and not any(ord(ch) > 0x2E7F for ch in text):  # CJK has no spaces
        return "en"
    values = _detector().compute_language_confidence_values(text)
    if not values or values[0].language.iso_code_639_1.name == "EN":
        return "en"
    english = next((v.value for v in values if v.language.iso_code_639_1.name == "EN"), 0.0)
    top = values[0].value
    if top >= SURE or (len(words) >= LONG_WORDS and top >= LIKELY and english <= ENGLISH_AT_MOST):
        return values[0].language.iso_code_639_1.name.lower()
    return "en"
