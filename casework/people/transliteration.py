"""A matching key for names written in Latin or Arabic script, in any of their usual spellings.

The same person is registered as "Mohamed", "Muhammad", "Mohammed" or "محمد", as "Abdelkader",
"Abd al-Qadir", "Abdulkadir" or "عبد القادر", as "Youssouf" or "Yusuf". Spellings differ in
their vowels (Latin transliterations do not agree on them and Arabic script mostly does not
write the short ones), in doubled letters, in the article (al-, el-, ad-, ar-…) and in a few
consonants that Arabic distinguishes and French and English transliterations merge (ق/ك → k,
ط/ت → t, ص/س → s…). The key keeps what they agree on: the *consonant skeleton*.

* Arabic script is transliterated letter by letter to a Latin skeleton; the long vowels ا و ي
  and the letters that Latin spellings drop (ع, ء) give nothing, except و and ي at the start
  of a word, where they are the consonants w and y (يوسف → ysf, ويدراوغو → wdrg).
* Latin is folded (`casework.people.normalise.fold`: case, accents), its digraphs read as one
  sound (kh, gh, sh/ch, th, dh, ph, dj, ou…), doubled letters counted once, its vowels dropped,
  and y/w kept only at the start of a word (Youssouf → ysf, Ouédraogo → wdrg).
* Articles go: "al"/"el"/"ul" as words or hyphenated prefixes, Arabic "ال", and the article of
  the compound names in "Abd" ("Abdelkader", "Abd al-Qadir", "Abdulkadir" and "عبد القادر" all
  become bdkdr).

`name_key()` is the key of a whole name (its words' skeletons joined), the blocking key stored
on `Person`; `name_similarity()` compares two names on their skeletons and their spellings
with rapidfuzz, and `names_match()` takes the best of both orders (family and given names
swapped).
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

from rapidfuzz.distance import JaroWinkler, Levenshtein
from rapidfuzz.fuzz import token_set_ratio

from casework.people.normalise import fold

# Arabic letters (after `fold`, which already merged the hamza and alif variants and ة into ه)
# to their Latin skeleton letter; "" for letters that Latin spellings render as a vowel or drop.
_ARABIC = {
    "ا": "", "ب": "b", "ت": "t", "ث": "s", "ج": "j", "ح": "h", "خ": "k", "د": "d", "ذ": "d",
    "ر": "r", "ز": "s", "س": "s", "ش": "x", "ص": "s", "ض": "d", "ط": "t", "ظ": "d", "ع": "",
    "غ": "g", "ف": "f", "ق": "k", "ك": "k", "ل": "l", "م": "m", "ن": "n", "ه": "h", "و": "w",
    "ي": "y", "ء": "", "پ": "b", "ڤ": "f", "چ": "x", "گ": "g", "ک": "k", "ی": "y",
}  # fmt: skip
_ARABIC_LETTERS = re.compile(r"[\u0600-\u06ff]")
_NON_WORD = re.compile(r"[^\w]+", re.UNICODE)

# Latin digraphs and letters, in the order they are read (longest first).
_LATIN_RULES = (
    ("eill", "ey"), ("aill", "ay"), ("tch", "x"), ("tsh", "x"), ("sch", "x"), ("chr", "kr"),
    ("ch", "x"), ("sh", "x"), ("zh", "x"), ("kh", "k"), ("gh", "g"), ("th", "t"), ("dh", "d"),
    ("ph", "f"), ("dj", "j"), ("dz", "s"), ("ck", "k"), ("qu", "k"), ("gu", "g"), ("gn", "n"),
    ("ou", "u"), ("oo", "u"), ("ee", "i"), ("q", "k"), ("x", "ks"), ("v", "f"), ("p", "b"),
    ("z", "s"), ("c", ""), ("g", ""),  # c and g are decided by the next letter, below
)  # fmt: skip
_VOWELS = frozenset("aeiou")
_ARTICLES = frozenset({"al", "el", "ul", "il", "ad", "ed", "ar", "er", "as", "es", "at", "et",
                       "az", "ez", "an", "en", "ash", "ech", "ach"})  # fmt: skip
# Abbreviations and spellings that no rule can bring together.
_SYNONYMS = {
    "med": "mohamed", "mohd": "mohamed", "mhd": "mohamed", "abdoulaye": "abdallah",
    "abdoulai": "abdallah", "hadj": "hadji", "elhadj": "hadji", "elhadji": "hadji",
}  # fmt: skip
# The article inside compound names: abd + (vowels) + (l) + rest ("Abdelaziz", "Abdulkadir",
# "Abderrahmane"); "abdel", "abdul", "abdoul" alone join the next word.
_ABD = re.compile(r"^abd(?:[aeiou]+l|[aeiou]+(?=[^aeiou])|(?=[^aeiou]))?")
_ABD_AR = "عبد"
_ARABIC_ARTICLE = "\u0627\u0644"  # ال with a bare alif: أل and إل begin names (ألفا, إلياس)
# The article fused to a Latin name ("Elhassan", "Elamin"), not names in El-/Al- ("Elena").
_LATIN_ARTICLE = re.compile(r"^(?:el(?=[^aeiouy].{2,}|am|ou)|al(?=h.{2,}))")


def _latin_letters(word: str) -> str:
    """A folded Latin word to its letters of sound: digraphs read, c decided, doubles once."""
    out: list[str] = []
    i = 0
    if word.startswith("x"):
        out.append("x")  # an initial x is a sh (pinyin Xu, Xiaoming; Xavier)
        i = 1
    while i < len(word):
        for pattern, replacement in _LATIN_RULES:
            if word.startswith(pattern, i):
                soft = word[i + 1 : i + 2] in ("e", "i", "y")
                if pattern == "c":
                    replacement = "s" if soft else "k"
                elif pattern == "g":
                    replacement = "j" if soft else "g"
                elif pattern == "gu" and word[i + 2 : i + 3] not in ("e", "i", "y"):
                    replacement = "gu"  # "gu" is a hard g only before e, i, y
                out.append(replacement)
                i += len(pattern)
                break
        else:
            out.append(word[i])
            i += 1
    return "".join(out)


def _consonants(letters: str, semivowels: bool = False) -> str:
    """Doubled letters once, then the vowels out; y and w stay at the start of a word only
    (anywhere with `semivowels`, for names of vowels only: Awa, Aya).

    An initial "u" before a vowel is the consonant w (Ouédraogo, Ouattara)."""
    collapsed = re.sub(r"(.)\1+", r"\1", letters)
    if len(collapsed) > 1 and collapsed[0] == "u" and collapsed[1] in _VOWELS:
        collapsed = "w" + collapsed[1:]
    kept = []
    for position, letter in enumerate(collapsed):
        if letter in _VOWELS:
            continue
        if letter in ("y", "w") and position > 0 and not semivowels:
            continue
        if letter == "h" and position == len(collapsed) - 1 and position > 0:
            continue  # Fatimah / Fatima, Abdallah / Abdalla
        kept.append(letter)
    return "".join(kept)


def _arabic_word(word: str, semivowels: bool = False) -> str:
    """Letter by letter; the long vowels (and ع, ء) separate letters but give none, so that a
    consonant written twice across a vowel counts twice (مامادو → mmd) and a doubled one once."""
    letters: list[str] = []
    for position, letter in enumerate(word):
        mapped = _ARABIC.get(letter, "")
        if mapped in ("w", "y") and position > 0 and not semivowels:
            mapped = ""  # a long vowel inside the word
        elif mapped == "h" and position == len(word) - 1 and position > 0:
            mapped = ""  # final ه (and ة, folded to it) is a vowel ending
        if mapped == "x" and letters and letters[-1] == "t":
            letters.pop()  # تش is the Latin tch / ch
        if mapped and letters and letters[-1] == mapped:
            continue
        letters.append(mapped or "-")
    return "".join(letters).replace("-", "")


def _without_arabic_article(word: str) -> str:
    """The article is told on the written word, before folding merges أ and إ into ا."""
    if word.startswith(_ARABIC_ARTICLE) and len(word) > 3:
        return word[2:]
    if word.startswith(_ABD_AR + _ARABIC_ARTICLE) and len(word) > 5:
        return _ABD_AR + word[5:]
    return word


def _words(name: str) -> list[str]:
    """Folded words, articles dropped, "Abd" compounds joined to their second part."""
    words: list[str] = []
    for raw in _NON_WORD.split(unicodedata.normalize("NFC", name)):
        if _ARABIC_LETTERS.match(raw):
            raw = _without_arabic_article(raw)
        for word in fold(raw).split():
            if _ARABIC_LETTERS.match(word):
                words.append(word)
                continue
            word = _SYNONYMS.get(word, word)
            if word in _ARTICLES:
                continue
            words.append(_LATIN_ARTICLE.sub("", word) or word)
    joined: list[str] = []
    pending = ""
    for word in words:
        if _ARABIC_LETTERS.match(word):
            if word == _ABD_AR:
                pending = _ABD_AR
                continue
            if pending:
                word = _ABD_AR + word
        else:
            match = _ABD.match(word)
            if match:
                rest = word[match.end() :]
                if not rest:
                    pending = word
                    continue
                word = "abd" + rest
            elif pending:
                word = "abd" + word
        pending = ""
        joined.append(word)
    if pending:
        joined.append(pending)
    return joined


@lru_cache(maxsize=65_536)
def word_skeleton(word: str) -> str:
    """The skeleton of one folded word, in either script."""
    if _ARABIC_LETTERS.match(word):
        return _arabic_word(word) or _arabic_word(word, semivowels=True)
    letters = _latin_letters(word)
    return _consonants(letters) or _consonants(letters, semivowels=True)


@lru_cache(maxsize=65_536)
def skeletons(name: str | None) -> tuple[str, ...]:
    """The skeleton of each word of a name (empty skeletons left out)."""
    if not name:
        return ()
    return tuple(s for s in (word_skeleton(w) for w in _words(name)) if s)


def name_key(name: str | None, *, first_word: bool = False) -> str | None:
    """The blocking key of a name: its words' skeletons joined (or the first word's only), cut
    to 40 characters; None when nothing is left (a name of vowels only, such as "Awa")."""
    parts = skeletons(name)
    if not parts:
        return None
    return (parts[0] if first_word else "".join(parts))[:40]


def latin_spelling(name: str | None) -> str:
    """The folded spelling with its articles out (for the comparison of Latin spellings)."""
    return " ".join(w for w in _words(name or "") if not _ARABIC_LETTERS.match(w))


def _similarity(a: tuple[str, ...], b: tuple[str, ...]) -> float:
    """0..1: the skeletons of two names, word by word (a missing middle name costs little)."""
    if not a or not b:
        return 0.0
    joined_a, joined_b = "".join(a), "".join(b)
    if joined_a == joined_b:
        return 1.0
    whole = Levenshtein.normalized_similarity(joined_a, joined_b)
    words = token_set_ratio(" ".join(a), " ".join(b)) / 100
    # The common-words score rewards a missing middle name, but not down to one short word.
    if min(len(a), len(b)) == 1 and len(a) != len(b):
        words *= 0.95
    return max(whole, words if len(joined_a) > 2 else 0.0)


def _is_arabic(name: str) -> bool:
    return bool(_ARABIC_LETTERS.search(name))


def name_similarity(names_a: list[str | None], names_b: list[str | None]) -> float:
    """The best similarity between any written form of one name (Latin, Arabic script) and any
    of the other's, on the skeletons; Latin spellings also compared letter by letter."""
    return _best_similarity(names_a, names_b)[0]


def _best_similarity(names_a: list[str | None], names_b: list[str | None]) -> tuple[float, bool]:
    """(similarity, whether the best pair involved a name written in Arabic script).

    Latin spellings come from identity documents: when both records have one and they
    disagree, an agreement in Arabic script (often transliterated at the counter) counts for
    half only."""
    best, arabic = 0.0, False
    latin: float | None = None
    for name_a in names_a:
        if not name_a:
            continue
        a = skeletons(name_a)
        for name_b in names_b:
            if not name_b:
                continue
            similarity = _similarity(a, skeletons(name_b))
            in_arabic = _is_arabic(name_a) or _is_arabic(name_b)
            if not in_arabic:
                latin = max(latin or 0.0, similarity)
            if similarity > best + 1e-9:
                best, arabic = similarity, in_arabic
            if best == 1.0 and not arabic:
                return best, arabic
    if best < 1.0:
        spelled_a = [s for s in (latin_spelling(n) for n in names_a if n) if s]
        spelled_b = [s for s in (latin_spelling(n) for n in names_b if n) if s]
        for a in spelled_a:
            for b in spelled_b:
                # A typo keeps most letters in place: Jaro-Winkler, a little discounted.
                similarity = JaroWinkler.similarity(a, b) - 0.1
                latin = max(latin or 0.0, similarity)
                if similarity > best:
                    best, arabic = similarity, False
    if arabic and latin is not None and latin < 0.7:
        best = (best + latin) / 2
    return min(best, 1.0), arabic


def _combined(family: float, given: float) -> float:
    """The two parts' mean, less a penalty when one part clearly differs: brothers share the
    family name, and the same given name is common; the same person has both."""
    return 0.5 * (family + given) - 1.2 * max(0.0, 0.85 - min(family, given))


def names_match(
    family_a: list[str | None],
    given_a: list[str | None],
    family_b: list[str | None],
    given_b: list[str | None],
) -> tuple[float, bool, bool]:
    """(similarity 0..1, swapped, through Arabic script): family with family and given with
    given, or swapped (the family name typed as the given name), whichever is better; a swap
    costs a little. Each name is given in all its written forms (Latin field, Arabic field)."""
    family, family_ar = _best_similarity(family_a, family_b)
    given, given_ar = _best_similarity(given_a, given_b)
    straight = _combined(family, given)
    if straight >= 0.999:
        return straight, False, family_ar or given_ar
    family_x, family_x_ar = _best_similarity(family_a, given_b)
    given_x, given_x_ar = _best_similarity(given_a, family_b)
    crossed = _combined(family_x, given_x) - 0.02
    if crossed > straight:
        return crossed, True, family_x_ar or given_x_ar
    return straight, False, family_ar or given_ar
