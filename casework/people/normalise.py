"""Text folding for search: accent-, case- and script-variant-insensitive.

SQLite's LIKE folds ASCII only and PostgreSQL's collations differ between servers, so the model
keeps a folded copy of the names and document numbers, and searches compare folded to folded.
"""

from __future__ import annotations

import re
import unicodedata

# Arabic letters that are written several ways: fold each group to one letter.
_ARABIC_FOLDS = str.maketrans(
    {
        "أ": "ا",
        "إ": "ا",
        "آ": "ا",
        "ٱ": "ا",
        "ى": "ي",
        "ئ": "ي",
        "ؤ": "و",
        "ة": "ه",
        "ـ": None,  # tatweel, a stretching stroke
    }
)
_NON_WORD = re.compile(r"[^\w]+", re.UNICODE)


def fold(text: str | None) -> str:
    """Lower-case, strip accents and Arabic vowel marks, fold letter variants, collapse spaces."""
    if not text:
        return ""
    decomposed = unicodedata.normalize("NFKD", text)
    # Combining marks are Latin accents and Arabic harakat alike (category Mn).
    stripped = "".join(ch for ch in decomposed if unicodedata.category(ch) != "Mn")
    folded = stripped.casefold().translate(_ARABIC_FOLDS)
    return " ".join(_NON_WORD.sub(" ", folded).split())


def fold_document_number(number: str | None) -> str:
    """Document numbers are typed with and without spaces and dashes: keep letters and digits."""
    return "".join(ch for ch in fold(number) if ch.isalnum())
