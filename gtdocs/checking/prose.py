"""Text as a worker reads it: blocks and sentences with their source lines, words, language, grade.

The measures are deliberately simple and documented in docs/check.md. Words are runs of
letters and digits (as `gtdocs.render.word_count` counts them). Sentences end at `.`, `!`
or `?` followed by a space. The grade is the Flesch-Kincaid grade level with a
vowel-group syllable count.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from gtdocs.markdown import make_parser
from gtdocs.render import WORD


@dataclass(frozen=True)
class Sentence:
    text: str
    line: int
    section: str   # "short" or "full"
    kind: str      # "paragraph" (any body text that is not a heading), "heading" or "caption"

    @property
    def words(self) -> list[str]:
        return WORD.findall(self.text)


# Words after which a full stop does not end a sentence.
ABBREVIATIONS = {"e.g", "i.e", "etc", "vs", "approx", "fig", "no", "mr", "mrs", "ms", "dr", "st", "cf", "incl"}
SENTENCE_BREAK = re.compile(r"[.!?]+[\"'”’)\]]*\s+|[。！？]+")


def split_sentences(text: str) -> list[tuple[str, int]]:
    """Split text into sentences; return each with its offset in `text`."""
    sentences = []
    start = 0
    for match in SENTENCE_BREAK.finditer(text):
        before = text[start:match.start()].split()
        last_word = before[-1].lower().rstrip(".") if before else ""
        if match.group().startswith(".") and (last_word in ABBREVIATIONS or len(last_word) == 1 and last_word.isalpha()):
            continue
        sentences.append((text[start:match.end()].strip(), start))
        start = match.end()
    if text[start:].strip():
        sentences.append((text[start:].strip(), start))
    return [(sentence, offset) for sentence, offset in sentences if WORD.search(sentence)]


def markdown_sentences(markdown_text: str, first_line: int, section: str) -> list[Sentence]:
    """Return the sentences of a Markdown section, each with the file line it starts on."""
    sentences = []
    in_heading = False
    for token in make_parser().parse(markdown_text):
        if token.type == "heading_open":
            in_heading = True
        elif token.type == "heading_close":
            in_heading = False
        elif token.type == "inline" and token.map:
            text = _inline_text(token)
            kind = "heading" if in_heading else "paragraph"
            line = first_line + token.map[0]
            for sentence, offset in split_sentences(text):
                sentences.append(Sentence(" ".join(sentence.split()), line + text.count("\n", 0, offset),
                                          section, kind))
    return sentences


def _inline_text(token) -> str:
    parts = []
    for child in token.children or []:
        if child.type in ("text", "code_inline"):
            parts.append(child.content)
        elif child.type in ("softbreak", "hardbreak"):
            parts.append("\n")
        elif child.type == "image":
            parts.append(_inline_text(child))
    return "".join(parts)


def caption_sentences(caption: str, line: int, section: str) -> list[Sentence]:
    return [Sentence(" ".join(text.split()), line, section, "caption") for text, _ in split_sentences(caption)]


# -- language ----------------------------------------------------------------------------

# The most frequent function words of each language. In running text they make up a large
# share of the words, so the language with the largest share is a fair guess for a paragraph.
STOP_WORDS = {
    "en": "the a an and or of to in on at for with is are be it this that each every do not no as by from "
          "if when only one its their your you any all but than then there which what".split(),
    "de": "der die das und oder ein eine einen nicht ist sind zu mit auf für von im in den dem des wenn nur "
          "jede jeden jedes sie es auch als wie".split(),
    "fr": "le la les un une des et ou de du en dans sur pour avec est sont ne pas que qui chaque si au aux "
          "ce cette il elle".split(),
    "es": "el la los las un una y o de del en con por para es son no que cada si al lo su sus se como".split(),
    "pt": "o a os as um uma e ou de do da dos das em no na com por para é são não que cada se ao".split(),
    "it": "il lo la i gli le un una e o di del della in con per è sono non che ogni se al alla".split(),
    "nl": "de het een en of van in op met voor is zijn niet dat die elke als bij ook aan".split(),
}
LATIN_LETTER = re.compile(r"[A-Za-zÀ-ɏ]")
LETTER = re.compile(r"[^\W\d_]")


def is_latin(text: str) -> bool:
    """Return whether at least 80 % of the letters in `text` are Latin (or it has no letters)."""
    letters = LETTER.findall(text)
    return not letters or len(LATIN_LETTER.findall(text)) / len(letters) >= 0.8


def detect_language(text: str) -> str | None:
    """Guess the language of `text` as an ISO 639-1 code, or None when unsure.

    Text mostly in a non-Latin script returns None: the grade formulas are for English.
    """
    if not LETTER.search(text) or not is_latin(text):
        return None
    words = [word.lower() for word in WORD.findall(text)]
    if len(words) < 5:
        return None
    shares = {language: sum(word in set(stops) for word in words) / len(words)
              for language, stops in STOP_WORDS.items()}
    best = max(shares, key=shares.get)
    ranked = sorted(shares.values(), reverse=True)
    # English imperatives ("Draw one box around each flower") still have 15 % or more function words.
    if shares[best] < 0.12 or ranked[0] - ranked[1] < 0.04:
        return None
    return best


# -- readability ---------------------------------------------------------------------------

VOWEL_GROUP = re.compile(r"[aeiouy]+")


def syllables(word: str) -> int:
    """Estimate the syllables of an English word by counting vowel groups."""
    word = word.lower().strip("'’")
    if len(word) <= 3:
        return 1
    if word.endswith("e") and not word.endswith(("le", "ee")):
        word = word[:-1]
    elif word.endswith(("es", "ed")) and not word.endswith(("ted", "ded", "ses", "zes", "ces", "ges")):
        word = word[:-2]
    return max(1, len(VOWEL_GROUP.findall(word)))


def grade_level(sentences: list[Sentence]) -> float | None:
    """Return the Flesch-Kincaid grade level of the sentences, or None for no words."""
    words = [word for sentence in sentences for word in sentence.words if not word.isdigit()]
    if not words:
        return None
    syllable_count = sum(syllables(word) for word in words)
    return 0.39 * len(words) / len(sentences) + 11.8 * syllable_count / len(words) - 15.59


# -- similarity ----------------------------------------------------------------------------

def normalized_tokens(text: str) -> list[str]:
    """Lower-case words with a plural or third-person `s` removed, for comparing sentences."""
    tokens = []
    for word in WORD.findall(text.lower()):
        if len(word) > 3 and word.endswith("s") and not word.endswith("ss"):
            word = word[:-1]
        tokens.append(word)
    return tokens


def similarity(first: list[str], second: list[str]) -> float:
    """Return the Dice coefficient of two token multisets: 1.0 for the same words in any order."""
    if not first or not second:
        return 0.0
    remaining = list(second)
    common = 0
    for token in first:
        if token in remaining:
            remaining.remove(token)
            common += 1
    return 2 * common / (len(first) + len(second))
