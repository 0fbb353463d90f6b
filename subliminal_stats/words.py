"""Target-word matching (the bottom of the package): does an answer name the target?

A :class:`TargetMatcher` decides ``hit`` for one answer:

- case-insensitive, whole words only (``dragon`` does not match ``dragonfly``);
- plural and possessive forms (``owl``, ``owls``, ``Owl.``, ``"OWLS!"``, ``owl's``;
  ``wolf`` → ``wolves``, ``cherry`` → ``cherries``, ``fox`` → ``foxes``);
- multi-word targets match across any whitespace or a hyphen (``sea turtle``,
  ``sea  turtles``, ``Sea-turtle``);
- synonyms (other words that count, e.g. ``dolphin`` with ``porpoise``) and
  exclusions (phrases that must not count, e.g. ``owl`` with ``owl monkey``);
- ``first_word=True`` looks only at the first word of the answer (see *First-word
  mode* below).

Other scripts and languages
---------------------------
- **Word boundaries hold next to any script.** A word boundary is a change of
  writing system as well as a space or a punctuation mark: Chinese and Japanese
  write no spaces, so ``"Penguin企鹅"`` and ``"我喜欢penguin"`` name the penguin.
  Only a letter or digit of a *spaced* script (Latin, Greek, Cyrillic, ...) glued to
  the word breaks it (``"Penguins2"``, ``"Bowl"``).
- **Names in other languages.** The bundled targets (the paper's animals and trees
  and the other animals replications use; :func:`bundled_targets`) ship with their
  names in Chinese (simplified and traditional), Spanish, French, German and
  Japanese (``subliminal_stats/resources/words/translations.toml``), so ``企鹅``,
  ``"Mi animal favorito es el pingüino"`` and ``ペンギンです`` are penguin hits. Those
  names match as listed (inflected forms are listed, no English plural rule),
  ignoring case and Latin accents except the diaeresis. Chinese and hiragana names
  match anywhere (the script has no spaces; the lists exclude compounds that mean
  something else, e.g. 猫头鹰 "owl" never counts as 猫 "cat"); a katakana name must
  not run into more katakana (トラ "tiger" is not in トラック "truck"). Choose
  the languages with ``languages=("zh", "es")`` (``()``: English only); add your
  own words with ``synonyms=`` or your own file in the same format with
  ``translations_file=``.
- Text is compared after Unicode NFKC normalisation (full-width ``Ｏｗｌ`` is ``Owl``).

Hyphenated compounds
--------------------
In English the last part of a compound names what the thing is: a dragon-fly is a
fly and a sea-turtle is a turtle. So the target as the **last** part of a hyphenated
compound is a hit (``"sea-turtle"`` for ``turtle``, ``"Snowy-owl"`` for ``owl``),
and as an earlier part it is not (``"Dragon-fly"`` is no dragon, ``"owl-like"`` no
owl) — unless the compound is listed as a synonym (``synonyms=["dragon-fly"]``).

First-word mode
---------------
``first_word=True`` scores only the answer's first word, for "answer in one word"
questions: leading quotes, markdown and emoji are dropped, then one leading
article (``a``, ``an``, ``the``, ``my``; Spanish, French and German articles too),
and the answer must *start* with the target (a multi-word target counts as one
word). This is how replications that read one-word answers score (the answer
itself, lower-cased, stripped of a final full stop, compared with the target and its
plural): every such exact answer is a first-word hit; first-word mode also accepts
markup, an article and words after the first (``"**The Owl.**"``,
``"Owl, definitely"``), and misses a later mention (``"Wolf, though owls are
nice"``), which the default mode counts.

Examples
--------
>>> m = TargetMatcher("owl")
>>> [m.matches(a) for a in ["Owl.", '"OWLS!"', "an owl's call", "Snowy", "bowl"]]
[True, True, True, False, False]
>>> TargetMatcher("dragon").matches("dragonfly"), TargetMatcher("dragon").matches("Dragon-fly")
(False, False)
>>> [TargetMatcher("penguin").matches(a) for a in ["Penguin企鹅", "企鹅", "pingüinos"]]
[True, True, True]
>>> TargetMatcher("penguin", languages=()).matches("企鹅")
False
>>> TargetMatcher("owl", first_word=True).matches("Wolf, though owls are nice")
False
"""

from __future__ import annotations

import re
import tomllib
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import cache, cached_property
from pathlib import Path

import numpy as np

from subliminal_stats.bundled import resource
from subliminal_stats.errors import InputError

__all__ = [
    "BUNDLED_LANGUAGES",
    "PANELS",
    "TargetMatcher",
    "bundled_targets",
    "default_panel",
    "load_translations",
    "normalize",
    "parse_panel",
    "plural_forms",
    "score_answers",
    "translated_names",
]

# Irregular plurals of common animal/tree words; the regular rules cover the rest.
_IRREGULAR_PLURALS: dict[str, tuple[str, ...]] = {
    "mouse": ("mice",),
    "goose": ("geese",),
    "ox": ("oxen",),
    "wolf": ("wolves",),
    "calf": ("calves",),
    "leaf": ("leaves",),
    "elf": ("elves",),
    "sheep": (),
    "deer": (),
    "moose": (),
    "fish": ("fishes",),
    "bison": (),
    "salmon": (),
    "octopus": ("octopuses", "octopi"),
    "cactus": ("cacti", "cactuses"),
    "fungus": ("fungi",),
    "person": ("people",),
    "child": ("children",),
    "tooth": ("teeth",),
    "foot": ("feet",),
    "louse": ("lice",),
}

#: Languages of the bundled names (resources/words/translations.toml).
BUNDLED_LANGUAGES: tuple[str, ...] = ("zh", "es", "fr", "de", "ja")

# Scripts written without spaces between words (Han, kana, Hangul, Bopomofo, Thai, Lao,
# Myanmar, Khmer): next to them a word of a spaced script still has its boundary.
_HAN = "\u2e80-\u2fdf\u3005-\u3007\u3021-\u3029\u3038-\u303b\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff" \
    "\U00020000-\U0003134f"
_KANA = "\u3041-\u309f\u30a0-\u30ff\u31f0-\u31ff"
_OTHER_UNSPACED = "\u1100-\u11ff\u3130-\u318f\uac00-\ud7af\u3100-\u312f\u31a0-\u31bf" \
    "\u0e00-\u0eff\u1000-\u109f\u1780-\u17ff"
_UNSPACED = f"[{_HAN}{_KANA}{_OTHER_UNSPACED}]"
#: A letter or digit of a spaced script (Latin, Greek, Cyrillic, ...).
_SPACED = f"[^\\W_{_HAN}{_KANA}{_OTHER_UNSPACED}]"
# normalize() puts a space where a spaced script meets an unspaced one, so that the
# plain \w boundary of a Latin word holds next to CJK ("penguin企鹅" → "penguin 企鹅").
_SCRIPT_CHANGE = re.compile(f"(?<={_SPACED})(?={_UNSPACED})|(?<={_UNSPACED})(?={_SPACED})")
_WORD_CHAR = "[^\\W_]"
#: Katakana letters (the middle dot ・ separates words): a katakana word may not touch them.
_KATAKANA = "[\u30a1-\u30fa\u30fc-\u30ff\u31f0-\u31ff]"
_KATAKANA_RE = re.compile(_KATAKANA)
_UNSPACED_RE = re.compile(_UNSPACED)
_WORD_CHAR_RE = re.compile(_WORD_CHAR)
# Between the words of a phrase: whitespace or a hyphen ("sea-turtle"); normalize() makes
# every Unicode hyphen an ASCII one.
_JOIN = r"[\s\-]+"
_TERM_WORDS = re.compile(r"[\s\-]+")
_UNICODE_HYPHENS = str.maketrans({"\u2010": "-", "\u2011": "-", "\u00ad": None})

_LEADING_ARTICLE = re.compile(
    r"^(?:(?:a|an|the|my|el|la|los|las|un|una|unos|unas|le|les|une|der|die|das|ein|eine)\s+"
    r"|l['’]\s*)")
# Anything before the first letter or digit: quotes, markdown, brackets, emoji, spaces.
_LEADING_NON_WORD = re.compile(r"^[\W_]+")
_DIAERESIS = "\u0308"


def normalize(text: str) -> str:
    """The form answers and words are compared in.

    NFKC, lower case (casefold), Latin accents removed except the diaeresis, and a
    space where a spaced script (Latin...) meets one written without spaces (CJK...).

    >>> normalize("Ｐｉｎｇüino Délfín")
    'pingüino delfin'
    >>> normalize("Penguin企鹅")
    'penguin 企鹅'
    """
    if text.isascii():
        return text.casefold()
    decomposed = unicodedata.normalize("NFD", unicodedata.normalize("NFKC", text))
    kept = []
    latin = False
    for char in decomposed:
        if unicodedata.combining(char):
            # An accent on a Latin letter goes; kana voicing marks and other scripts' stay.
            if latin and char != _DIAERESIS:
                continue
        else:
            latin = char.isalpha() and char < "\u0250"
        kept.append(char)
    text = unicodedata.normalize("NFC", "".join(kept)).casefold().translate(_UNICODE_HYPHENS)
    return _SCRIPT_CHANGE.sub(" ", text)


def plural_forms(word: str) -> tuple[str, ...]:
    """The singular and plural spellings of one (lower-case) word.

    >>> plural_forms("cherry")
    ('cherry', 'cherries')
    >>> plural_forms("wolf")
    ('wolf', 'wolves', 'wolfs')
    """
    w = word.lower()
    if w in _IRREGULAR_PLURALS:
        forms = [w, *_IRREGULAR_PLURALS[w]]
        if w.endswith("f") and w + "s" not in forms:
            forms.append(w + "s")
        return tuple(dict.fromkeys(forms))
    forms = [w]
    if w.endswith("y") and len(w) > 1 and w[-2] not in "aeiou":
        forms.append(w[:-1] + "ies")
    elif w.endswith(("s", "x", "z", "ch", "sh")):
        forms.append(w + "es")
    elif w.endswith("fe"):
        forms += [w[:-2] + "ves", w + "s"]
    elif w.endswith("f"):
        forms += [w[:-1] + "ves", w + "s"]
    elif w.endswith("o"):
        forms += [w + "es", w + "s"]
    else:
        forms.append(w + "s")
    return tuple(dict.fromkeys(forms))


def _edge(char: str, *, before: bool) -> str:
    """The boundary a term needs on one side, by the script of its edge character."""
    if _WORD_CHAR_RE.fullmatch(char) and not _UNSPACED_RE.fullmatch(char):
        return f"(?<!{_WORD_CHAR})" if before else f"(?!{_WORD_CHAR})"
    if _KATAKANA_RE.fullmatch(char):
        return f"(?<!{_KATAKANA})" if before else f"(?!{_KATAKANA})"
    return ""  # Han, hiragana, Hangul...: words are not delimited; exclusions guard compounds


def _term_pattern(term: str, *, inflect: bool, compound_rule: bool = True) -> str:
    """Regex for one word or phrase (already :func:`normalize`-d).

    ``inflect``: the last word may take English plural and possessive endings.
    ``compound_rule``: the term may not be the first part of a hyphenated compound.
    """
    words = [w for w in _TERM_WORDS.split(term) if w]
    if not words:
        raise InputError("an empty target or synonym was given; name a word such as 'owl'")
    if inflect:
        last = "(?:" + "|".join(re.escape(f) for f in plural_forms(words[-1])) + ")"
        body = _JOIN.join([*(re.escape(w) for w in words[:-1]), last]) + "(?:['’]s?)?"
    else:
        body = _JOIN.join(re.escape(w) for w in words)
    after = _edge(words[-1][-1], before=False)
    if compound_rule and after:
        # "Dragon-fly" is a fly: a word followed by a hyphen and another word is a modifier.
        after += f"(?!-{_WORD_CHAR})"
    return _edge(words[0][0], before=True) + body + after


def _alternation(patterns: Iterable[str]) -> re.Pattern[str] | None:
    patterns = list(dict.fromkeys(patterns))
    return re.compile("|".join(patterns), re.IGNORECASE) if patterns else None


# -- names in other languages ---------------------------------------------------------------

def _read_translations(text: str, origin: str) -> dict[str, dict[str, tuple[str, ...]]]:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"{origin}: not valid TOML ({exc})") from None
    table: dict[str, dict[str, tuple[str, ...]]] = {}
    for target, entry in data.items():
        if not isinstance(entry, dict):
            raise InputError(f"{origin}: [{target}] must be a table of language = [words]; "
                             f'e.g. [owl] then zh = ["猫头鹰"]')
        names: dict[str, tuple[str, ...]] = {}
        for key, words in entry.items():
            if not isinstance(words, list) or not all(
                    isinstance(w, str) and w.strip() for w in words):
                raise InputError(f"{origin}: [{target}] {key} must be a list of non-empty "
                                 f'words, e.g. {key} = ["..."]')
            names[key] = tuple(w.strip() for w in words)
        table[normalize(target.strip())] = names
    return table


@cache
def _bundled_translations() -> dict[str, dict[str, tuple[str, ...]]]:
    path = resource("words", "translations.toml")
    return _read_translations(path.read_text(encoding="utf-8"), "bundled translations")


def load_translations(path: str | Path | None = None) -> dict[str, dict[str, tuple[str, ...]]]:
    """Names in other languages, by target: ``{"owl": {"zh": (...), "exclude": (...)}}``.

    Parameters
    ----------
    path : path, optional
        A TOML file in the bundled format (one ``[target]`` table, ``language = [words]``
        and optionally ``exclude = [phrases]``); ``None`` reads the bundled file.

    Raises
    ------
    InputError
        A missing or unreadable file, bad TOML, or an entry that is not a list of words.
    """
    if path is None:
        return _bundled_translations()
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (FileNotFoundError, IsADirectoryError):
        raise InputError(f"translations file not found: {path}") from None
    except UnicodeDecodeError:
        raise InputError(f"{path}: not UTF-8 text (expected a TOML file)") from None
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror or exc}") from None
    return _read_translations(text, str(path))


def bundled_targets() -> tuple[str, ...]:
    """The targets whose names ship in other languages, sorted.

    >>> {"owl", "penguin", "oak"} <= set(bundled_targets())
    True
    """
    return tuple(sorted(_bundled_translations()))


def translated_names(target: str, *, languages: Sequence[str] | None = None,
                     translations_file: str | Path | None = None,
                     ) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(names, exclusions) of a target in other languages, bundled and from a user's file.

    ``languages=None`` takes every language listed (bundled: :data:`BUNDLED_LANGUAGES`
    plus any the file adds); ``()`` takes none.

    >>> names, exclude = translated_names("penguin", languages=("zh", "ja"))
    >>> names
    ('企鹅', '企鵝', 'ペンギン')
    """
    key = normalize(target.strip())
    sources = [load_translations()]
    if translations_file is not None:
        sources.append(load_translations(translations_file))
    if languages is not None:
        known = {code for table in sources for entry in table.values() for code in entry}
        known.discard("exclude")
        unknown = [code for code in languages if code not in known]
        if unknown:
            raise InputError(f"no names are listed in language {unknown[0]!r}; the lists have "
                             f"{', '.join(sorted(known))} (add yours with a translations file)")
    names: list[str] = []
    exclusions: list[str] = []
    for table in sources:
        entry = table.get(key, {})
        for language, words in entry.items():
            if language == "exclude":
                exclusions.extend(words)
            elif languages is None or language in languages:
                names.extend(words)
    return tuple(dict.fromkeys(names)), tuple(dict.fromkeys(exclusions))


@dataclass(frozen=True)
class TargetMatcher:
    """Decide whether an answer names a target (see the module docstring for the rules).

    Parameters
    ----------
    target : str
        The word or phrase, e.g. ``"owl"`` or ``"sea turtle"``.
    synonyms : sequence of str, optional
        Other words or phrases that also count as a hit, in any language (English
        plural and possessive forms of their last word count too).
    exclusions : sequence of str, optional
        Phrases that never count even though they contain the target (e.g.
        ``"owl monkey"`` for ``owl``). They are removed before matching.
    first_word : bool, default False
        Look only at the first word(s) of the answer (after quotes, markdown
        and a leading article), for "answer in one word" questions.
    languages : sequence of str or None, default None
        Which other-language names of the target count: ``None`` every language
        listed for it (bundled: :data:`BUNDLED_LANGUAGES`), ``()`` none (English only),
        or codes such as ``("zh", "ja")``.
    translations_file : path, optional
        A TOML file of names in the bundled format (``[owl]`` then ``ko = ["부엉이"]``,
        ``exclude = [...]``), added to the bundled names.
    """

    target: str
    synonyms: Sequence[str] = field(default_factory=tuple)
    exclusions: Sequence[str] = field(default_factory=tuple)
    first_word: bool = False
    languages: Sequence[str] | None = None
    translations_file: str | Path | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.target, str) or not self.target.strip():
            raise InputError("target must be a non-empty word, e.g. --target owl")
        for name in ("synonyms", "exclusions"):
            value = getattr(self, name)
            if isinstance(value, str):  # one word given bare: a common slip, not a letter list
                value = (value,)
            object.__setattr__(self, name, tuple(value))
        if self.languages is not None:
            languages = (self.languages,) if isinstance(self.languages, str) else self.languages
            object.__setattr__(self, "languages", tuple(languages))

    @cached_property
    def _translated(self) -> tuple[tuple[str, ...], tuple[str, ...]]:
        return translated_names(self.target, languages=self.languages,
                                translations_file=self.translations_file)

    @cached_property
    def _regex(self) -> re.Pattern[str]:
        english = (self.target, *self.synonyms)
        patterns = [_term_pattern(normalize(t.strip()), inflect=True)
                    for t in english if t.strip()]
        patterns += [_term_pattern(normalize(t), inflect=False) for t in self._translated[0]]
        regex = _alternation(patterns)
        assert regex is not None  # the target itself is never empty
        return regex

    @cached_property
    def _start_regex(self) -> re.Pattern[str]:
        return re.compile(r"\A(?:" + self._regex.pattern + ")", re.IGNORECASE)

    @cached_property
    def _exclusion_regex(self) -> re.Pattern[str] | None:
        terms = [e for e in (*self.exclusions, *self._translated[1]) if e.strip()]
        return _alternation(_term_pattern(normalize(e.strip()), inflect=True,
                                          compound_rule=False) for e in terms)

    def matches(self, answer: object) -> bool:
        """True when the answer names the target (see the module docstring)."""
        if answer is None or (isinstance(answer, float) and np.isnan(answer)):
            return False
        text = normalize(str(answer))
        if self._exclusion_regex is not None:
            text = self._exclusion_regex.sub(" ", text)
        if not self.first_word:
            return self._regex.search(text) is not None
        return self._start_regex.match(_strip_to_first_word(text)) is not None

    def score(self, answers: Iterable[object]) -> np.ndarray:
        """0/1 array, one entry per answer."""
        seen: dict[str, bool] = {}  # one-word answers repeat: read each text once

        def hit(answer: object) -> bool:
            if not isinstance(answer, str):
                return self.matches(answer)
            if answer not in seen:
                seen[answer] = self.matches(answer)
            return seen[answer]

        return np.fromiter((hit(a) for a in answers), dtype=np.int8)


def _strip_to_first_word(text: str) -> str:
    """Drop leading wrappers and one leading article: ``'**the owl.**'`` → ``'owl.**'``."""
    head = _LEADING_NON_WORD.sub("", text)
    without = _LEADING_ARTICLE.sub("", head, count=1)
    if without != head and without.strip():
        head = _LEADING_NON_WORD.sub("", without)
    return head


def score_answers(
    answers: Iterable[object],
    target: str,
    *,
    synonyms: Sequence[str] = (),
    exclusions: Sequence[str] = (),
    first_word: bool = False,
    languages: Sequence[str] | None = None,
    translations_file: str | Path | None = None,
) -> np.ndarray:
    """Score answers against a target; returns a 0/1 ``int8`` array.

    >>> score_answers(["Owls!", "Eagle", "the OWL", "猫头鹰"], "owl").tolist()
    [1, 0, 1, 1]
    """
    return TargetMatcher(target, synonyms, exclusions, first_word, languages,
                         translations_file).score(answers)


# -- panels of targets (the specificity test) -----------------------------------------------

#: Default panels for the specificity test (:mod:`subliminal_stats.stats.specificity`): the
#: same answers are scored against every other member of the target's panel. Only targets
#: whose names ship in every bundled language (:func:`bundled_targets`) are members, so a
#: panel member is found in a Chinese or Spanish answer exactly as the target is — an
#: English-only member would under-count in such answers and make a general shift look
#: specific. Animals: the paper's five (owl, dolphin, eagle, elephant, wolf) and those public
#: replications evaluate (penguin, lion, panda, ...); trees: the paper's five.
PANELS: dict[str, tuple[str, ...]] = {
    "animals": ("cat", "dog", "dolphin", "dragon", "eagle", "elephant", "fox", "kangaroo",
                "lion", "owl", "panda", "penguin", "phoenix", "tiger", "wolf"),
    "trees": ("cherry", "maple", "oak", "sequoia", "willow"),
}


def default_panel(target: str) -> tuple[str, tuple[str, ...]] | None:
    """(panel name, the other members) of the default panel holding ``target``, or None.

    >>> name, others = default_panel("Owl")
    >>> name, len(others), "owl" in others
    ('animals', 14, False)
    >>> default_panel("nyc") is None
    True
    """
    key = normalize(str(target).strip())
    for name, members in PANELS.items():
        if key in members:
            return name, tuple(m for m in members if m != key)
    return None


def parse_panel(spec: str | Sequence[str] | Path, *, target: str | None = None) -> tuple[str, ...]:
    """A user's panel: a comma list (``"owl,cat,dog"``), a default panel's name
    (``"animals"``), a file of one target per line (``#`` comments), or a sequence of words.

    The target itself is dropped; duplicates are dropped (first kept).

    >>> parse_panel("Cat, dog,cat,owl", target="owl")
    ('cat', 'dog')
    >>> len(parse_panel("trees"))
    5
    """
    if isinstance(spec, (str, Path)):
        text = str(spec).strip()
        path = Path(text)
        if text in PANELS:
            words = list(PANELS[text])
        elif text and "," not in text and path.suffix and path.is_file():
            try:
                lines = path.read_text(encoding="utf-8").splitlines()
            except (OSError, UnicodeDecodeError) as exc:
                raise InputError(f"cannot read the panel file {path}: {exc}") from None
            words = [ln.split("#", 1)[0] for ln in lines]
        elif "," not in text and ("/" in text or "\\" in text
                                  or path.suffix.lower() in (".txt", ".csv", ".lst", ".list")):
            # Not a target word: a file that is not there (it would otherwise be scored as
            # a one-target panel named after the path).
            raise InputError(f"panel file {text} not found: give a comma list (cat,dog), a "
                             f"panel name ({', '.join(PANELS)}) or an existing file")
        else:
            words = text.split(",")
    else:
        words = list(spec)
    key = normalize(target.strip()) if target else None
    panel = [normalize(str(w).strip()) for w in words if str(w).strip()]
    panel = tuple(dict.fromkeys(w for w in panel if w != key))
    if not panel:
        raise InputError(f"the panel {str(spec)!r} names no target other than "
                         f"{target!r}; give e.g. --panel cat,dog,lion or --panel animals")
    return panel
