"""Rules on the wording of the instructions: length, sentences, grade, repetition, bad captions."""

from __future__ import annotations

from gtdocs.checking.context import BundleContext
from gtdocs.checking.prose import (Sentence, detect_language, grade_level, is_latin, normalized_tokens,
                                   similarity)

# Words that only restate a verdict or point at the picture. A caption made only of these words
# explains nothing about what is wrong.
VERDICT_WORDS = set("""
a an the this that these those it its is are was be here there shown above below like as so
bad wrong incorrect not no don't dont do never avoid mistake error example correct good right ok okay
image picture photo one way please don't x
""".split())


def quote(sentence: Sentence, words: int = 8) -> str:
    parts = sentence.text.split()
    return '"' + " ".join(parts[:words]) + (' ..."' if len(parts) > words else '"')


def check_text(context: BundleContext) -> None:
    short_words(context)
    long_sentences(context)
    short_grade(context)
    image_first(context)
    repeats_short(context)
    bad_captions(context)


def short_words(context: BundleContext) -> None:
    limit = context.option("S101", "max")
    count = sum(len(sentence.words) for sentence in context.sentences("short"))
    if count > limit:
        context.report("S101", context.bundle.short_line,
                       f"the short instructions have {count} words, captions included (the limit is {limit})",
                       "keep what a worker needs on every task and move the rest to the full instructions")


def long_sentences(context: BundleContext) -> None:
    short_limit = context.option("S102", "max")
    limit = context.option("T101", "max")
    seen = set()
    for section in ("short", "full"):
        for sentence in context.sentences(section):
            count = len(sentence.words)
            if sentence.kind == "heading" or (sentence.line, sentence.text) in seen:
                continue
            seen.add((sentence.line, sentence.text))
            where = "the short instructions" if section == "short" else "the full instructions"
            if section == "short" and count > short_limit and context.enabled("S102"):
                context.report("S102", sentence.line,
                               f"sentence of {count} words in {where}: {quote(sentence)}",
                               f"split it; the limit is {short_limit}")
            elif count > limit:
                context.report("T101", sentence.line, f"sentence of {count} words in {where}: {quote(sentence)}",
                               f"split it; the limit is {limit}")


def short_grade(context: BundleContext) -> None:
    sentences = [sentence for sentence in context.sentences("short") if sentence.kind != "heading"]
    text = " ".join(sentence.text for sentence in sentences)
    words = sum(len(sentence.words) for sentence in sentences)
    if words < context.option("S103", "min_words") or detect_language(text) != "en":
        return
    grade = grade_level(sentences)
    limit = context.option("S103", "max_grade")
    if grade is not None and grade > limit:
        context.report("S103", context.bundle.short_line,
                       f"the short instructions read at school grade {grade:.1f} (Flesch-Kincaid; the limit is {limit:g})",
                       "use shorter sentences and everyday words; many workers read English as a second language")


def image_first(context: BundleContext) -> None:
    lines = [placement.line for placement in context.bundle.placements if placement.section == "short"]
    if not lines:
        return
    first = min(lines)
    before = sum(len(sentence.words) for sentence in context.body_sentences["short"] if sentence.line < first)
    limit = context.option("S105", "max_words_before")
    if before > limit:
        context.report("S105", first,
                       f"the first example image comes after {before} words of text (the limit is {limit})",
                       "move the image up, or shorten the text above it; workers look at pictures first")


def repeats_short(context: BundleContext) -> None:
    min_words = context.option("F101", "min_words")
    threshold = context.option("F101", "min_similarity")
    short = [(sentence, normalized_tokens(sentence.text)) for sentence in context.body_sentences["short"]
             if sentence.kind == "paragraph"]
    short = [(sentence, tokens) for sentence, tokens in short if len(tokens) >= min_words]
    for sentence in context.body_sentences["full"]:
        tokens = normalized_tokens(sentence.text)
        if sentence.kind != "paragraph" or len(tokens) < min_words:
            continue
        for original, original_tokens in short:
            score = similarity(tokens, original_tokens)
            if score >= threshold:
                how = "repeats" if score == 1.0 else f"nearly repeats ({score:.0%} the same words)"
                context.report("F101", sentence.line,
                               f"{quote(sentence)} {how} the short instructions' line {original.line}",
                               "the full instructions add to the short ones: delete it, or say what is new")
                break


def bad_captions(context: BundleContext) -> None:
    min_words = context.option("F103", "min_words")
    for example in context.placed():
        if example.verdict != "bad":
            continue
        line = context.key_line(example, "caption")
        if not example.caption:
            context.report("F103", example.line, f"bad example {example.id!r} has no caption",
                           "add a caption that says what is wrong, e.g. 'The box cuts off the petals.'")
            continue
        if not is_latin(example.caption):
            # NOTE: scripts written without spaces have no word count to compare, so only an empty
            # caption is reported for them.
            continue
        words = normalized_tokens(example.caption)
        language = detect_language(example.caption + " " + context.bundle.short_markdown)
        reasons = [word for word in words if word not in VERDICT_WORDS] if language in ("en", None) else words
        if len(words) < min_words or len(reasons) < 2:
            context.report("F103", line, f"the caption of bad example {example.id!r} does not say what is wrong: "
                                         f"{example.caption!r}",
                           f"say what is wrong and what to do instead, in {min_words} or more words")
