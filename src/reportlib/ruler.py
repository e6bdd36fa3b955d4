"""RULER's harder retrieval tasks (Hsieh et al. 2024), generated and scored here.

In the "shared" layout one haystack per (haystack text, length, sample) carries the
inserts of every task; in the "separate" layout each task has its own haystack, with
RULER's own instructions for it, as RULER builds its prompts. The tasks:

- **multi-key** (MK-NIAH): needles "One of the special magic numbers for {key} is: {value}."
  with different keys; each question asks for one key, the others are distractors;
- **multi-query** (MQ-NIAH): two of those keys asked at once;
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
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from .context import effective_length, haystack_sentences
from .corpus import flores_sentences
from .errors import ReportlibError
from .stats import wilson_interval

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
#: the inserts each task reads (multi-query asks for the multi-key needles)
TASK_INSERTS = {
    "multi-key": "multi-key",
    "multi-query": "multi-key",
    "multi-value": "multi-value",
    "variable tracking": "chain",
}
#: the answers each task's questions are made from (:func:`make_inserts`' groups)
TASK_ANSWERS = {
    "multi-key": "multi-key",
    "multi-query": "multi-key",
    "multi-value": "multi-value",
    "variable tracking": "variable tracking",
}


@dataclass(frozen=True)
class TaskSizes:
    """How many inserts each haystack carries."""

    keys: int = 4  #: multi-key needles (multi-query asks for them together)
    value_keys: int = 1  #: multi-value keys
    values: int = 4  #: values per multi-value key
    chains: int = 1  #: variable-tracking chains
    hops: int = 4  #: hops per chain: ``hops + 1`` variables hold the value, as in RULER
    queries: int = 4  #: keys asked in one multi-query question (RULER asks 4)

    def validate(self) -> TaskSizes:
        for name, value in vars(self).items():
            if not isinstance(value, int) or value < 1:
                raise ReportlibError(f"{name} must be a positive whole number, not {value!r}")
        if not 2 <= self.queries <= self.keys:
            raise ReportlibError(
                f"queries must be from 2 to keys ({self.keys}), not {self.queries}: "
                "a multi-query question asks for several of the multi-key needles"
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
    inserts: list[Insert], answers: dict[str, list[tuple[str, tuple[str, ...]]]], queries: int = 4
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
    pairs = answers["multi-key"]
    for i in range(0, len(pairs) - queries + 1, queries):  # groups of keys, each asked once
        group = pairs[i : i + queries]
        keys = [key for key, _ in group]
        prompt = NEEDLE_QUESTION.format(keys=", ".join(keys[:-1]) + ", and " + keys[-1])
        expected = tuple(value for _, (value,) in group)
        depth = sum(depth_of("multi-key", i + k) for k in range(queries)) / queries
        questions.append(
            Question("multi-query", prompt, expected, depth, ANSWER_TOKENS["multi-query"])
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


def _case_tasks(
    sizes: TaskSizes, seed: int, sample: int, task: str | None = None
) -> tuple[list[Insert], tuple[Question, ...]]:
    """The inserts (placed at their depths) and the questions of one haystack: of every
    task, or of ``task`` alone (the same numbers and keys as in the shared haystack)."""
    case_seed = seed * 100_003 + sample
    made, answers = make_inserts(sizes.validate(), case_seed)
    if task is None:
        inserts = place_inserts(made, case_seed)
        return inserts, tuple(make_questions(inserts, answers, sizes.queries))
    if task not in TASK_INSERTS:
        raise ReportlibError(f"unknown task {task!r}; one of {', '.join(TASKS)}")
    inserts = place_inserts([x for x in made if x.task == TASK_INSERTS[task]], case_seed)
    own = {k: (v if k == TASK_ANSWERS[task] else []) for k, v in answers.items()}
    questions = [q for q in make_questions(inserts, own, sizes.queries) if q.task == task]
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


def recall(answer: str, expected: Iterable[str]) -> float:
    """RULER's ``string_match_all``: the share of expected strings in the answer (any case)."""
    wanted = list(expected)
    if not wanted:
        raise ReportlibError("a question needs at least one expected answer")
    return recalled(answer, wanted) / len(wanted)


def recalled(answer: str, expected: Iterable[str]) -> int:
    """How many of the expected strings the answer contains (any case)."""
    text = answer.lower()
    return sum(1 for e in expected if e.lower() in text)


def run_grid(
    model: Any, cases: Sequence[RulerCase], seed: int = 0, progress: bool | None = None
) -> list[dict[str, Any]]:
    """Ask every question of every case; the questions of one haystack follow each other,
    so the KV cache keeps the haystack and each question costs only its own tokens."""
    from tqdm import tqdm

    total = sum(len(c.questions) for c in cases)
    bar = tqdm(total=total, desc="RULER tasks", unit="question",
               disable=None if progress is None else not progress)  # fmt: skip
    rows = []
    with bar:
        for case in cases:
            for number, question in enumerate(case.questions):
                answer = model.complete(
                    case.context + question.prompt,
                    max_tokens=question.max_tokens,
                    seed=seed,
                    reuse_prefix=True,
                )
                found = recalled(answer.text, question.expected)
                rows.append(
                    {
                        "haystack": case.haystack,
                        "layout": case.layout,
                        "length": case.length,
                        "sample": case.sample,
                        "task": question.task,
                        "question": number,
                        "depth": round(question.depth, 4),
                        "expected": " ".join(question.expected),
                        "answer": answer.text,
                        "values": len(question.expected),
                        "recalled": found,
                        "score": recall(answer.text, question.expected),
                        "context_tokens": case.context_tokens,
                        "context_characters": case.context_characters,
                        "evaluated_tokens": answer.evaluated_tokens,
                    }
                )
                bar.update()
    return rows


def task_scores(rows: Sequence[dict[str, Any]]) -> Any:
    """Per (haystack, task, length): questions, the mean score (RULER's), and a 95% Wilson
    interval on the expected values recalled (pooled over the cell's questions)."""
    import pandas as pd

    frame = pd.DataFrame(rows)
    if "layout" in frame and frame["layout"].nunique() > 1:
        raise ReportlibError("the rows mix the two layouts: score each layout on its own")
    out = []
    for (kind, task, length), group in frame.groupby(["haystack", "task", "length"], sort=False):
        values, recalled = int(group["values"].sum()), int(group["recalled"].sum())
        low, high = wilson_interval(recalled, values)
        out.append(
            {
                "haystack": kind,
                "task": task,
                "length": length,
                "questions": len(group),
                "values": values,
                "score": float(group["score"].mean()),
                "low": low,
                "high": high,
                "context_characters": float(group["context_characters"].mean()),
            }
        )
    return pd.DataFrame(out)


#: the easy baseline, the context chapter's single-needle grid, shown beside the tasks
SINGLE_NEEDLE = "single needle"


def needle_scores(grid: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """The single-needle grid's rows (``found``) as task rows on the filler haystack."""
    return [
        {
            "haystack": "filler",
            "task": SINGLE_NEEDLE,
            "length": row["length"],
            "values": 1,
            "recalled": int(row["found"]),
            "score": float(row["found"]),
            "context_characters": float("nan"),
        }
        for row in grid
    ]


def average_scores(scores: Any) -> Any:
    """RULER's average: the mean of the four harder tasks' scores, per (haystack, length)
    (the single needle, the easy baseline, is not in it)."""
    tasks = scores[scores["task"].isin(TASKS)]
    average = tasks.groupby(["haystack", "length"], sort=False)["score"].mean().reset_index()
    return average.assign(task="average")


def effective_lengths(scores: Any, threshold: float = RULER_THRESHOLD) -> Any:
    """Per haystack and task (and the average): the longest length at which the score, and
    every shorter length's, is at least ``threshold``; ``None`` if even the shortest is
    below; and whether every tested length passed (then the real limit lies beyond)."""
    import pandas as pd

    both = pd.concat([scores, average_scores(scores)], ignore_index=True)
    rows = []
    for (kind, task), group in both.groupby(["haystack", "task"], sort=False):
        by_length = dict(zip(group["length"], group["score"], strict=True))
        effective = effective_length(by_length, threshold)
        rows.append(
            {
                "haystack": kind,
                "task": task,
                "effective length": effective,
                "shortest tested": min(by_length),
                "longest tested": max(by_length),
                "all passed": effective == max(by_length),
            }
        )
    return pd.DataFrame(rows)


def describe_effective(effective: int | None, lengths: Sequence[int], window: int | None) -> str:
    """An effective length as a reader should read it, honest about the tested range."""
    if effective is None:
        return f"below {min(lengths):,} tokens, the shortest length tested"
    if effective == max(lengths):
        beyond = f" (the trained window is {window:,})" if window and window > effective else ""
        return (
            f"at least {effective:,} tokens: every tested length passed, and finding the limit "
            f"needs longer prompts{beyond}"
        )
    return f"{effective:,} tokens"


def effective_table(effective: Any) -> Any:
    """:func:`effective_lengths` as text: one row per task, one column per haystack."""
    import pandas as pd

    shown = pd.DataFrame(
        [
            {
                "haystack": HAYSTACKS[r["haystack"]],
                "task": r["task"],
                "effective length": _short(
                    r["effective length"], r["shortest tested"], r["longest tested"]
                ),
            }
            for r in effective.to_dict("records")
        ]
    )
    table = shown.pivot(index="task", columns="haystack", values="effective length")
    order = [t for t in (SINGLE_NEEDLE, *TASKS, "average") if t in table.index]
    columns = [name for name in HAYSTACKS.values() if name in table.columns]
    table = table.loc[order, columns]
    table.columns.name = None
    table.index.name = None
    return table.fillna("not tested")


def _short(effective: Any, shortest: int, longest: int) -> str:
    if effective is None or effective != effective:  # None or NaN: failed at the shortest
        return f"< {shortest:,}"
    if effective == longest:
        return f"≥ {longest:,} (all passed)"
    return f"{int(effective):,}"


def _languages(scores: Any) -> tuple[Any, Any] | None:
    """Haystack characters and the four tasks' average score, English and Korean FLORES
    side by side, at the lengths both were tested at; ``None`` if one was not tested."""
    both = scores[scores["haystack"].isin(["flores-en", "flores-ko"])]
    if set(both["haystack"]) != {"flores-en", "flores-ko"}:
        return None
    chars = both.groupby(["length", "haystack"])["context_characters"].mean().unstack(1).dropna()
    average = average_scores(both).set_index(["length", "haystack"])["score"].unstack(1)
    return chars, average.loc[chars.index]


def language_comparison(scores: Any) -> Any:
    """English against Korean FLORES haystacks at the lengths both were tested at: the
    haystack characters the same tokens hold, and the four tasks' average score."""
    import pandas as pd

    pair = _languages(scores)
    if pair is None:
        return pd.DataFrame()  # one language was not tested: nothing to compare
    chars, average = pair
    rows = []
    for n in chars.index:
        rows.append(
            {
                "prompt length (tokens)": f"{n:,}",
                "English characters": f"{chars.loc[n, 'flores-en']:,.0f}",
                "Korean characters": f"{chars.loc[n, 'flores-ko']:,.0f}",
                "Korean / English": f"{chars.loc[n, 'flores-ko'] / chars.loc[n, 'flores-en']:.2f}",
                "average score, English": f"{average.loc[n, 'flores-en']:.0%}",
                "average score, Korean": f"{average.loc[n, 'flores-ko']:.0%}",
            }
        )
    return pd.DataFrame(rows).set_index("prompt length (tokens)")


def grid_description(
    grid: dict[str, Sequence[int]], samples: int | dict[Any, int], with_haystack: bool = True
) -> str:
    """The grid in words: each haystack's lengths and the haystacks per cell ("none" for an
    empty grid); ``with_haystack=False`` leaves the haystacks' names out."""
    parts = []
    for kind, lengths in grid.items():
        if not lengths:
            continue
        cells = ", ".join(f"{n:,} ({samples_at(samples, n)})" for n in sorted(lengths))
        parts.append(f"{HAYSTACKS[kind]} at {cells}" if with_haystack else cells)
    return "; ".join(parts) or "none"


def language_summary(scores: Any) -> dict[str, float] | None:
    """Over the lengths both FLORES haystacks were tested at: Korean characters per English
    character in the same tokens, and the mean of RULER's average score in each language;
    ``None`` when one of them was not tested."""
    pair = _languages(scores)
    if pair is None:
        return None
    chars, average = pair
    return {
        "characters_ratio": float((chars["flores-ko"] / chars["flores-en"]).mean()),
        "english": float(average["flores-en"].mean()),
        "korean": float(average["flores-ko"].mean()),
        "lengths": len(chars),
    }


def _score_text(row: Any) -> str:
    import pandas as pd

    if "low" in row and pd.notna(row["low"]):  # the average has no interval
        return f"{row['score']:.0%} ({row['low']:.0%}–{row['high']:.0%})"
    return f"{row['score']:.0%}"


def _task_cells(scores: Any, haystack: str, with_average: bool = False) -> Any:
    """The four tasks' cells of one haystack (and their average), indexed by length, task."""
    import pandas as pd

    frame = scores[(scores["haystack"] == haystack) & scores["task"].isin(TASKS)]
    if with_average:
        frame = pd.concat([frame, average_scores(frame)], ignore_index=True)
    return frame.set_index(["length", "task"]).sort_index()


def layout_comparison(shared: Any, separate: Any, haystack: str = "flores-en") -> Any:
    """The same tasks on the same ``haystack`` at the lengths both layouts were tested at:
    each task's score (95% Wilson interval) with all four tasks in one haystack and with
    one task per haystack, and the difference in points; the four tasks' average last."""
    import pandas as pd

    left, right = _task_cells(shared, haystack, True), _task_cells(separate, haystack, True)
    order = {t: i for i, t in enumerate((*TASKS, "average"))}
    common = sorted(left.index.intersection(right.index), key=lambda k: (k[0], order[k[1]]))
    rows = []
    for key in common:
        a, b = left.loc[key], right.loc[key]
        rows.append(
            {
                "prompt length (tokens)": f"{key[0]:,}",
                "task": key[1],
                "four tasks per haystack": _score_text(a),
                "one task per haystack": _score_text(b),
                "difference (points)": f"{100 * (b['score'] - a['score']):+.0f}".replace("-", "−"),
            }
        )
    if not rows:
        return pd.DataFrame()  # no length tested in both layouts: nothing to compare
    return pd.DataFrame(rows).set_index(["prompt length (tokens)", "task"])


def layout_finding(shared: Any, separate: Any, haystack: str = "flores-en") -> str:
    """The two layouts compared in words, at the lengths both were tested at: the four tasks'
    average in each, and which tasks' 95% intervals do not overlap."""
    left, right = _task_cells(shared, haystack), _task_cells(separate, haystack)
    common = sorted(set(left.index.get_level_values(0)) & set(right.index.get_level_values(0)))
    if not common:
        return "The two layouts were not tested at a common length."
    parts, apart = [], []
    for length in common:
        a, b = left.loc[length], right.loc[length]
        parts.append(
            f"at {length:,} tokens the four tasks average {b['score'].mean():.0%} with one "
            f"task per haystack against {a['score'].mean():.0%} with all four in one"
        )
        for task in a.index.intersection(b.index):
            x, y = a.loc[task], b.loc[task]
            if x["high"] < y["low"] or y["high"] < x["low"]:
                better = "one task per haystack" if y["score"] > x["score"] else "all four in one"
                apart.append(f"{task} at {length:,} tokens (higher with {better})")
    found = "; ".join(parts)
    verdict = (
        "For every task the two intervals overlap: at these sample sizes the other tasks' "
        "inserts make no difference that the test can see."
        if not apart
        else "The intervals do not overlap for " + "; ".join(apart) + "."
    )
    return f"{found[0].upper()}{found[1:]}. {verdict}"


def shortest_length_finding(scores: Any, threshold: float = RULER_THRESHOLD) -> str:
    """What the lengths tested say, in words: how much haystack text the shortest holds,
    the four tasks' average there against ``threshold``, the tasks that pass there, and
    how the average moves up to the longest length."""
    tasks = scores[scores["task"].isin(TASKS)]
    if tasks.empty:
        return "No task was tested."
    lengths = sorted(int(n) for n in set(tasks["length"]))
    cell = tasks[tasks["length"] == lengths[0]].set_index("task")
    average = float(cell["score"].mean())
    text = (
        f"At the shortest length, {lengths[0]:,} tokens (about "
        f"{float(cell['context_characters'].mean()):,.0f} characters of text around the "
        f"inserts), the four tasks average {average:.0%}, "
        f"{'at or above' if average >= threshold else 'below'} the threshold"
    )
    passing = [f"{t} ({cell.loc[t, 'score']:.0%})" for t in TASKS
               if t in cell.index and cell.loc[t, "score"] >= threshold]  # fmt: skip
    if passing and average < threshold:
        text += f"; {_and(passing)} {'passes' if len(passing) == 1 else 'pass'} there"
    text += "."
    if len(lengths) > 1:
        last = float(tasks[tasks["length"] == lengths[-1]]["score"].mean())
        move = "falls" if last < average - 0.05 else "rises" if last > average + 0.05 else "stays"
        text += f" By {lengths[-1]:,} tokens the average {move} ({average:.0%} to {last:.0%})" + (
            ": the tasks get harder as the text around them grows." if move == "falls" else "."
        )
    return text


def _and(items: list[str]) -> str:
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} and {items[-1]}"
