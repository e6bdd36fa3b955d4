"""RULER's harder retrieval tasks (Hsieh et al. 2024), generated and scored here.

In the "shared" layout one haystack per (haystack text, length, sample) carries the
inserts of every task; in the "separate" layout each task has its own haystack, with
RULER's own instructions for it, as RULER builds its prompts. The tasks:

- **multi-key** (MK-NIAH): needles "One of the special magic numbers for {key} is: {value}."
  with different keys; each question asks for one key, the others are distractors;
- **multi-query** (MQ-NIAH): needles of the same form with keys of their own, several asked
  at once (its own needles, so the multi-key needles are not asked twice);
- **multi-value** (MV-NIAH): one key with several values, all asked for;
- **variable tracking** (VT): a chain ``VAR A = 12345.``, ``VAR B = VAR A.``, …; the question
  asks for every variable that holds the value.

Each question is appended to its haystack, so with the KV cache's prefix reuse a question
costs only its own tokens. In the shared layout, unlike RULER, the other tasks' inserts are
extra distractors, and at short lengths the inserts are a larger share of the text; the
separate layout measures what that changes. Scoring is RULER's ``string_match_all``: the share
of the expected strings found in the answer, case-insensitive.
"""

from __future__ import annotations

import random
import string
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from reportlib.core.errors import ReportlibError
from reportlib.experiments.context.needles import haystack_sentences
from reportlib.text.corpus import flores_sentences

#: RULER's threshold: a length is effective while the score stays at or above Llama 2 7B's
#: at 4K, 85.6% (Hsieh et al. 2024, "RULER: What's the Real Context Size of Your Long-Context
#: Language Models?", section 4)
RULER_THRESHOLD = 0.856
TASKS = ("multi-key", "multi-query", "multi-value", "variable tracking")
#: the haystack texts: repeated filler sentences, and FLORES-200's English and Korean
#: sentences in file order (parallel, so the two languages carry the same content)
HAYSTACKS = {
    "filler": "filler sentences",
    "flores-en": "FLORES-200 English",
    "flores-ko": "FLORES-200 Korean",
}
_ADJECTIVES = (
    "amber brave calm dusty eager faint gentle hollow icy jolly kind lofty mellow nimble "
    "odd pale quiet rapid silent tidy upbeat vivid wary young zesty bold crisp damp early "
    "fuzzy grand humble"
).split()
_NOUNS = (
    "anchor badger candle dolphin ember falcon garden harbor island jacket kettle lantern "
    "meadow needle orchard pebble quilt river saddle tunnel umbrella valley willow yacht "
    "zephyr beacon canyon drum easel fountain"
).split()
NEEDLE = "One of the special magic numbers for {key} is: {value}."
CHAIN_START = "VAR {name} = {value}."
CHAIN_LINK = "VAR {name} = VAR {previous}."
#: RULER's needle question and answer prefix (the same for every needle task: "all" numbers)
NEEDLE_QUESTION = (
    "\nWhat are all the special magic numbers for {keys} mentioned in the provided text? "
    "The special magic numbers for {keys} mentioned in the provided text are"
)
#: RULER's variable-tracking question and answer prefix
CHAIN_QUESTION = (
    "\nQuestion: Find all variables that are assigned the value {value} in the text above. "
    "Answer: According to the chain(s) of variable assignment in the text above, {count} "
    "variables are assigned the value {value}, they are:"
)
#: RULER gives variable tracking one worked example before the text (its ``add_fewshot``)
CHAIN_EXAMPLE = (
    "Memorize and track the chain(s) of variable assignment hidden in the following text.\n\n"
    "The rain stopped in the afternoon. VAR QPWXT = 61421. The market was busy. "
    "VAR RMNSO = VAR QPWXT. A boat drifted on the lake. VAR LKJHG = VAR RMNSO."
    + CHAIN_QUESTION.format(value="61421", count=3)
    + " QPWXT RMNSO LKJHG\n\n"
)
#: RULER's instructions before the haystack (its needle and variable-tracking templates,
#: joined because a shared haystack carries both)
INSTRUCTION = (
    "Some special magic numbers are hidden within the following text. Make sure to memorize "
    "it. I will quiz you about the numbers afterwards. Memorize and track the chain(s) of "
    "variable assignment hidden in the following text too.\n"
)
PREFIX = CHAIN_EXAMPLE + INSTRUCTION
#: RULER's own instructions for a haystack of one task: its needle template, and its
#: variable-tracking template after the worked example
NEEDLE_INSTRUCTION = (
    "Some special magic numbers are hidden within the following text. Make sure to memorize "
    "it. I will quiz you about the numbers afterwards.\n"
)
CHAIN_INSTRUCTION = (
    "Memorize and track the chain(s) of variable assignment hidden in the following text.\n"
)


def prefix_for(task: str | None) -> str:
    """What comes before a haystack: the joined instructions and the worked example for a
    shared haystack (``task`` None), RULER's own template for a haystack of one task."""
    if task is None:
        return PREFIX
    if task == "variable tracking":
        return CHAIN_EXAMPLE + CHAIN_INSTRUCTION
    return NEEDLE_INSTRUCTION


#: tokens each task's answer may take
ANSWER_TOKENS = {"multi-key": 16, "multi-query": 48, "multi-value": 48, "variable tracking": 36}
#: no case is shorter (a quick check of the argument; whether the inserts, the questions and
#: some haystack fit is :func:`shortest_testable_length`'s)
MIN_LENGTH = 128
#: how a haystack carries the tasks: "shared", every task's inserts in one haystack (the
#: questions reuse it), or "separate", one task per haystack, as RULER builds its prompts
LAYOUTS = ("shared", "separate")
#: the inserts each task reads
TASK_INSERTS = {
    "multi-key": "multi-key",
    "multi-query": "multi-query",
    "multi-value": "multi-value",
    "variable tracking": "chain",
}
#: the answers each task's questions are made from (:func:`make_inserts`' groups)
TASK_ANSWERS = {
    "multi-key": "multi-key",
    "multi-query": "multi-query",
    "multi-value": "multi-value",
    "variable tracking": "variable tracking",
}


@dataclass(frozen=True)
class TaskSizes:
    """How many inserts each haystack carries."""

    keys: int = 4  #: multi-key needles, each asked on its own
    value_keys: int = 1  #: multi-value keys
    values: int = 4  #: values per multi-value key
    chains: int = 1  #: variable-tracking chains
    hops: int = 4  #: hops per chain: ``hops + 1`` variables hold the value, as in RULER
    queries: int = 4  #: keys asked in one multi-query question (RULER asks 4)
    query_groups: int = 1  #: multi-query questions, each with ``queries`` needles of its own

    def validate(self) -> TaskSizes:
        for name, value in vars(self).items():
            if not isinstance(value, int) or value < 1:
                raise ReportlibError(f"{name} must be a positive whole number, not {value!r}")
        if self.queries < 2:
            raise ReportlibError(
                f"queries must be at least 2, not {self.queries}: a multi-query question "
                "asks for several needles at once"
            )
        return self


@dataclass(frozen=True)
class Insert:
    """One sentence put into the haystack, and which question it answers."""

    text: str
    task: str
    group: int  #: which key / chain of its task
    depth: float = 0.0  #: where it sits: 0 = start, 1 = end of the haystack


@dataclass(frozen=True)
class Question:
    """One question asked after the haystack, with the strings a full answer contains."""

    task: str
    prompt: str
    expected: tuple[str, ...]
    depth: float  #: mean depth of the inserts that hold its answer
    max_tokens: int


@dataclass(frozen=True)
class RulerCase:
    """One haystack with its inserts, and the questions asked after it."""

    haystack: str
    length: int  #: target prompt length in the model's tokens (question included)
    sample: int
    context: str
    context_tokens: int
    context_characters: int  #: characters of haystack text (inserts excluded)
    questions: tuple[Question, ...] = field(default_factory=tuple)
    task: str | None = None  #: the one task the haystack carries ("separate"), or None: all

    @property
    def layout(self) -> str:
        """ "separate" for a haystack of one task, "shared" for one of every task."""
        return "shared" if self.task is None else "separate"


def _number(rng: random.Random, digits: int) -> str:
    return str(rng.randrange(10 ** (digits - 1), 10**digits))


def make_inserts(
    sizes: TaskSizes, seed: int
) -> tuple[list[Insert], dict[str, list[tuple[str, tuple[str, ...]]]]]:
    """Every task's inserts (depths not yet set) and, per task, its (key, answers) groups."""
    rng = random.Random(f"ruler-{seed}")
    words = [f"{a}-{n}" for a in _ADJECTIVES for n in _NOUNS]
    keys = rng.sample(words, sizes.keys + sizes.value_keys)
    inserts: list[Insert] = []
    answers: dict[str, list[tuple[str, tuple[str, ...]]]] = {"multi-key": [], "multi-value": []}
    for i, key in enumerate(keys[: sizes.keys]):
        value = _number(rng, 7)
        inserts.append(Insert(NEEDLE.format(key=key, value=value), "multi-key", i))
        answers["multi-key"].append((key, (value,)))
    for i, key in enumerate(keys[sizes.keys :]):
        values = tuple(_number(rng, 7) for _ in range(sizes.values))
        inserts += [Insert(NEEDLE.format(key=key, value=v), "multi-value", i) for v in values]
        answers["multi-value"].append((key, values))
    answers["variable tracking"] = []
    for i in range(sizes.chains):
        names = ["".join(rng.choices(string.ascii_uppercase, k=5)) for _ in range(sizes.hops + 1)]
        value = _number(rng, 5)
        inserts.append(Insert(CHAIN_START.format(name=names[0], value=value), "chain", i))
        for previous, name in zip(names, names[1:], strict=False):
            inserts.append(Insert(CHAIN_LINK.format(name=name, previous=previous), "chain", i))
        answers["variable tracking"].append((value, tuple(names)))
    # multi-query's own needles, drawn last so the other tasks' draws stay as they were
    used = set(keys)
    free = [w for w in words if w not in used]
    answers["multi-query"] = []
    for i in range(sizes.query_groups):
        asked = rng.sample(free, sizes.queries)
        free = [w for w in free if w not in asked]
        values = tuple(_number(rng, 7) for _ in asked)
        inserts += [
            Insert(NEEDLE.format(key=key, value=value), "multi-query", i)
            for key, value in zip(asked, values, strict=True)
        ]
        answers["multi-query"].append((", ".join(asked[:-1]) + ", and " + asked[-1], values))
    return inserts, answers


def place_inserts(inserts: list[Insert], seed: int) -> list[Insert]:
    """Spread the inserts evenly over the haystack, in a seeded order: depths (i + 0.5) / n.
    A chain's links keep their order (a variable is defined before it is copied)."""
    rng = random.Random(f"ruler-depths-{seed}")
    slots = [(i + 0.5) / len(inserts) for i in range(len(inserts))]
    rng.shuffle(slots)
    placed = [Insert(x.text, x.task, x.group, d) for x, d in zip(inserts, slots, strict=True)]
    for group in {x.group for x in placed if x.task == "chain"}:
        members = [i for i, x in enumerate(placed) if x.task == "chain" and x.group == group]
        depths = sorted(placed[i].depth for i in members)
        for i, depth in zip(members, depths, strict=True):
            placed[i] = Insert(placed[i].text, "chain", group, depth)
    return sorted(placed, key=lambda x: x.depth)


def make_questions(
    inserts: list[Insert], answers: dict[str, list[tuple[str, tuple[str, ...]]]]
) -> list[Question]:
    """The questions of every task, with their expected strings and depths."""

    def depth_of(task: str, group: int) -> float:
        found = [x.depth for x in inserts if x.task == task and x.group == group]
        return sum(found) / len(found)

    questions = []
    for i, (key, values) in enumerate(answers["multi-key"]):
        prompt = NEEDLE_QUESTION.format(keys=key)
        depth = depth_of("multi-key", i)
        questions.append(Question("multi-key", prompt, values, depth, ANSWER_TOKENS["multi-key"]))
    for i, (keys, values) in enumerate(answers["multi-query"]):
        prompt = NEEDLE_QUESTION.format(keys=keys)
        depth = depth_of("multi-query", i)
        questions.append(
            Question("multi-query", prompt, values, depth, ANSWER_TOKENS["multi-query"])
        )
    for i, (key, values) in enumerate(answers["multi-value"]):
        prompt = NEEDLE_QUESTION.format(keys=key)
        depth = depth_of("multi-value", i)
        questions.append(
            Question("multi-value", prompt, values, depth, ANSWER_TOKENS["multi-value"])
        )
    for i, (value, names) in enumerate(answers["variable tracking"]):
        prompt = CHAIN_QUESTION.format(value=value, count=len(names))
        depth = depth_of("chain", i)
        questions.append(
            Question("variable tracking", prompt, names, depth, ANSWER_TOKENS["variable tracking"])
        )
    return questions


def haystack_text(kind: str, sample: int) -> list[str]:
    """The sentences of a haystack, starting at a sample-dependent place (FLORES: its dev
    and devtest sentences in file order, so neighbouring sentences come from one article)."""
    if kind == "filler":
        return haystack_sentences(6000, seed=sample)
    codes = {"flores-en": "eng_Latn", "flores-ko": "kor_Hang"}
    if kind not in codes:
        raise ReportlibError(f"unknown haystack {kind!r}; one of {', '.join(HAYSTACKS)}")
    lines = flores_sentences(codes[kind], "dev") + flores_sentences(codes[kind], "devtest")
    start = (sample * 503) % len(lines)  # a different, fixed place for every sample
    return lines[start:] + lines[:start]


def build_case(
    tokenize: Callable[[str], list[int]],
    kind: str,
    length: int,
    sample: int,
    sizes: TaskSizes = TaskSizes(),
    seed: int = 0,
    task: str | None = None,
) -> RulerCase:
    """A haystack of ``kind`` whose prompts (context + any question) fit in ``length``
    tokens with room for the answer; the inserts spread over it at their depths. With a
    ``task``, the haystack carries that task's inserts and questions only (RULER's layout);
    without, every task's."""
    if length < MIN_LENGTH:
        raise ReportlibError(f"length must be at least {MIN_LENGTH} tokens, not {length}")
    inserts, questions = _case_tasks(sizes, seed, sample, task)
    sentences = haystack_text(kind, sample)
    prefix = prefix_for(task)
    room, insert_tokens = _fixed_tokens(tokenize, inserts, questions, prefix)
    target = length - room
    bos = len(tokenize(""))  # a tokenizer that adds a BOS counts it in every call
    counts, total, n = [], insert_tokens, 0
    while n < len(sentences) and total + (c := len(tokenize(" " + sentences[n])) - bos) <= target:
        counts.append(c)
        total += c
        n += 1
    if n == 0:
        raise ReportlibError(
            f"the inserts and questions alone exceed {length} tokens: no haystack text fits "
            f"(the tasks need at least {room + insert_tokens} tokens together)"
        )
    if n == len(sentences):
        raise ReportlibError(f"the {kind} haystack has too little text for {length} tokens")
    average = max(1, round(sum(counts) / max(1, len(counts))))
    while True:  # the estimate can be off by the joins: trim until the whole context fits
        context, characters = _assemble(sentences[:n], inserts, prefix)
        tokens = len(tokenize(context))
        if tokens <= target:
            break
        if n <= 1:
            raise ReportlibError(f"the inserts and questions alone exceed {length} tokens")
        n = max(1, n - max(1, (tokens - target) // average))
    return RulerCase(kind, length, sample, context, tokens, characters, questions, task)


#: the haystack of a zero-haystack control case: the inserts and questions, no text around
CONTROL_HAYSTACK = "none"


def build_control_case(
    tokenize: Callable[[str], list[int]],
    sample: int,
    sizes: TaskSizes = TaskSizes(),
    seed: int = 0,
    task: str | None = None,
) -> RulerCase:
    """The case of ``sample`` with no haystack text: the instructions, the inserts in their
    order and the questions, exactly as in :func:`build_case` but with nothing around the
    inserts. What a model scores here is its floor of competence at the task; what it loses
    at a length beyond that is what the length costs. Its ``length`` is 0, no haystack text
    (``context_tokens`` gives the prompt's size), so the controls of every sample score as one
    cell."""
    inserts, questions = _case_tasks(sizes, seed, sample, task)
    context, _ = _assemble([], inserts, prefix_for(task))
    tokens = len(tokenize(context))
    return RulerCase(CONTROL_HAYSTACK, 0, sample, context, tokens, 0, questions, task)


def build_control_grid(
    tokenize: Callable[[str], list[int]],
    samples: int,
    sizes: TaskSizes = TaskSizes(),
    seed: int = 0,
    layout: str = "separate",
) -> list[RulerCase]:
    """The zero-haystack control of every sample, for the ``layout``'s cases (one per task
    with "separate", one carrying every task with "shared")."""
    if layout not in LAYOUTS:
        raise ReportlibError(f"unknown layout {layout!r}; one of {', '.join(LAYOUTS)}")
    tasks: tuple[str | None, ...] = (None,) if layout == "shared" else TASKS
    count = samples_at(samples, MIN_LENGTH)
    return [
        build_control_case(tokenize, sample, sizes, seed, task)
        for sample in range(count)
        for task in tasks
    ]


def _case_tasks(
    sizes: TaskSizes, seed: int, sample: int, task: str | None = None
) -> tuple[list[Insert], tuple[Question, ...]]:
    """The inserts (placed at their depths) and the questions of one haystack: of every
    task, or of ``task`` alone (the same numbers and keys as in the shared haystack)."""
    case_seed = seed * 100_003 + sample
    made, answers = make_inserts(sizes.validate(), case_seed)
    if task is None:
        inserts = place_inserts(made, case_seed)
        return inserts, tuple(make_questions(inserts, answers))
    if task not in TASK_INSERTS:
        raise ReportlibError(f"unknown task {task!r}; one of {', '.join(TASKS)}")
    inserts = place_inserts([x for x in made if x.task == TASK_INSERTS[task]], case_seed)
    own = {k: (v if k == TASK_ANSWERS[task] else []) for k, v in answers.items()}
    questions = [q for q in make_questions(inserts, own) if q.task == task]
    return inserts, tuple(questions)


def _fixed_tokens(
    tokenize: Callable[[str], list[int]],
    inserts: Sequence[Insert],
    questions: Sequence[Question],
    prefix: str = PREFIX,
) -> tuple[int, int]:
    """The room a case keeps for its longest question and answer, and the tokens of the
    instructions and inserts: the part of every prompt that is not haystack."""
    room = max(len(tokenize(q.prompt)) + q.max_tokens for q in questions) + 8  # joins, BOS
    bos = len(tokenize(""))  # a tokenizer that adds a BOS counts it in every call
    insert_tokens = sum(len(tokenize(" " + x.text)) - bos for x in inserts)
    return room, insert_tokens + len(tokenize(prefix))


def shortest_testable_length(
    tokenize: Callable[[str], list[int]],
    sizes: TaskSizes = TaskSizes(),
    seed: int = 0,
    task: str | None = None,
) -> int:
    """The prompt length (tokens) that the instructions, the inserts (every task's, or
    ``task``'s alone) and the longest question with its answer fill on their own, for the
    first haystack of ``seed`` (other haystacks' random numbers move it by a few tokens): at
    or below it no haystack sentence fits."""
    room, fixed = _fixed_tokens(tokenize, *_case_tasks(sizes, seed, 0, task), prefix_for(task))
    return room + fixed


def _assemble(
    sentences: Sequence[str], inserts: Sequence[Insert], prefix: str = PREFIX
) -> tuple[str, int]:
    """Sentences with every insert before the sentence at its depth; haystack characters."""
    parts: list[str] = []
    pending = sorted(inserts, key=lambda x: x.depth)
    for i, sentence in enumerate(sentences):
        while pending and pending[0].depth * len(sentences) <= i:
            parts.append(pending.pop(0).text)
        parts.append(sentence)
    parts += [x.text for x in pending]
    return prefix + " ".join(parts), sum(len(s) for s in sentences)


def samples_at(samples: int | dict[Any, int], length: int) -> int:
    """Haystacks per cell at ``length``: one number for every length, or a mapping from
    length (a number or its text, as papermill passes it) to a number, the last given length
    at or below ``length`` deciding."""
    if isinstance(samples, dict):
        table = {int(k): v for k, v in samples.items()}
        below = [k for k in table if k <= length]
        if not below:
            raise ReportlibError(f"samples gives no number for length {length}")
        samples = table[max(below)]
    if not isinstance(samples, int) or isinstance(samples, bool) or samples < 1:
        raise ReportlibError(f"samples must be a positive whole number, not {samples!r}")
    return samples


def build_grid(
    tokenize: Callable[[str], list[int]],
    lengths_by_haystack: dict[str, Sequence[int]],
    samples: int | dict[Any, int],
    sizes: TaskSizes = TaskSizes(),
    seed: int = 0,
    layout: str = "shared",
) -> list[RulerCase]:
    """Every (haystack, length, sample) case, shortest first within a haystack; with the
    "separate" layout one case per task for each of them, as RULER builds its prompts."""
    for kind in lengths_by_haystack:
        if kind not in HAYSTACKS:
            raise ReportlibError(f"unknown haystack {kind!r}; one of {', '.join(HAYSTACKS)}")
    if layout not in LAYOUTS:
        raise ReportlibError(f"unknown layout {layout!r}; one of {', '.join(LAYOUTS)}")
    tasks: tuple[str | None, ...] = (None,) if layout == "shared" else TASKS
    return [
        build_case(tokenize, kind, length, sample, sizes, seed, task)
        for kind, lengths in lengths_by_haystack.items()
        for length in sorted(lengths)
        for sample in range(samples_at(samples, length))
        for task in tasks
    ]
