"""No exercise's answer in a sandbox's memory: everything a submission can reach is called like the exercise.

Inside a sandbox loaded the way the exercise's tests load it (with the "build it yourself"
rule's pieces taken away for an exercise that has one), a walker takes every object the
collector knows (after `gc.unfreeze()`, so the zygote's frozen heap too), what every frame up
to the runner holds, and every module's attributes, keeps each callable whose name or
signature fits the exercise's function, calls it with the exercise's inputs, and sends back
what it returned. Here, in the trusted process,
each result is compared with the reference solution's: none may reproduce it.

Torch's and numpy's own functions are fair game in an exercise without a rule (a student may
call torch.multinomial to sample); in an exercise with one, they are searched too, and only
what the rule leaves (elementary operations) may remain.
"""

import textwrap
from dataclasses import dataclass
from pathlib import Path

import pytest
import torch

from content.nlp2llm.provided import EOS_ID, PAD_ID, START_ID, TOKEN_IDS
from graders.code import exercise_files, load_exercise
from graders.sandbox import Limits, ModelRef
from graders.sandbox.ready_made import ReadyMade
from tests.conftest import ROOT

EXERCISES = ROOT / "content" / "nlp2llm" / "lessons" / "01-transformers" / "exercises"

WALKER = textwrap.dedent('''
    import gc, inspect, signal, sys, types, warnings, torch

    warnings.simplefilter("ignore")
    __import__("logging").disable(50)

    STANDARD_LIBRARY = set(sys.stdlib_module_names)
    LIBRARIES = ("torch", "functorch", "torchgen", "numpy")

    class TookTooLong(Exception):
        pass

    def _alarm(*_):
        raise TookTooLong()

    def _module_of(item):
        module = getattr(item, "__module__", None)
        if type(module) is not str:
            owner = getattr(item, "__self__", None) or getattr(item, "__objclass__", None)
            module = getattr(owner, "__module__", None) if owner is not None else None
        return module if type(module) is str else ""

    def _name_of(item):
        for attribute in ("__qualname__", "__name__"):
            try:
                name = getattr(item, attribute, None)
            except Exception:
                name = None
            if type(name) is str:
                return name
        return ""

    def _everything():
        gc.unfreeze()
        seen, found = set(), []
        def add(item):
            if id(item) not in seen:
                seen.add(id(item))
                found.append(item)
        for item in gc.get_objects():
            add(item)
        frame = sys._getframe()
        while frame is not None:  # up to the runner, and what its frames hold
            for value in [*frame.f_locals.values(), *frame.f_globals.values()]:
                add(value)
            frame = frame.f_back
        for module in list(sys.modules.values()):
            try:
                values = list(vars(module).values())
            except TypeError:
                continue
            for value in values:
                add(value)
                if isinstance(value, type):
                    for attribute in list(vars(value).values()):
                        add(getattr(attribute, "__func__", attribute))
        return found

    def _fits(item, args, kwargs):
        if type(item) is not types.FunctionType:
            return False
        try:
            signature = inspect.signature(item)
            signature.bind(*args, **kwargs)
        except (TypeError, ValueError):
            return False
        # A method taken off its class would get the exercise's first input as `self`.
        return next(iter(signature.parameters), "") not in ("self", "cls")

    def _fresh(value):
        if isinstance(value, torch.Tensor):
            return value.clone()
        if isinstance(value, list):
            return [_fresh(item) for item in value]
        if isinstance(value, dict):
            return dict(value)
        if isinstance(value, torch.Generator):
            copy = torch.Generator()
            copy.set_state(value.get_state())
            return copy
        return value

    def walk(words, libraries_allowed, expected_kind, args, kwargs):
        candidates = []
        for item in _everything():
            if not callable(item) or isinstance(item, type):
                continue
            module = _module_of(item)
            top = module.partition(".")[0]
            if top in ("submission", "gc", "inspect") or module == __name__:
                continue
            if libraries_allowed and top in LIBRARIES:
                continue
            name = _name_of(item).lower()
            named = any(word in name for word in words)
            if named or (top not in STANDARD_LIBRARY and _fits(item, args, kwargs)):
                candidates.append(item)
        signal.signal(signal.SIGALRM, _alarm)
        results = {}
        for item in candidates:
            signal.setitimer(signal.ITIMER_REAL, 0.5)
            try:
                value = item(*_fresh(args), **_fresh(kwargs))
            except BaseException:
                continue
            finally:
                signal.setitimer(signal.ITIMER_REAL, 0)
            if isinstance(value, tuple) and value and expected_kind != "tuple":
                value = value[0]
            plain = (
                type(value) is torch.Tensor
                and value.layout == torch.strided
                and value.dtype in (torch.float32, torch.float64, torch.int64, torch.bool)
                and expected_kind == "tensor"
            )
            plain = plain or (type(value) is list and expected_kind == "list")
            plain = plain or (type(value) is tuple and expected_kind == "tuple")
            if plain:
                try:
                    results[f"{_module_of(item)}.{_name_of(item)}"] = (
                        value.detach().clone() if isinstance(value, torch.Tensor) else value
                    )
                except Exception:
                    continue
        return {"candidates": len(candidates), "results": results}
''')


@dataclass
class Case:
    folder: str
    function: str
    words: tuple[str, ...]
    args: tuple
    kwargs: dict


def attention_inputs():
    generator = torch.Generator().manual_seed(5)
    query, key, value = (torch.randn(2, 4, 3, generator=generator) for _ in range(3))
    return (query, key, value), {"key_padding_mask": torch.tensor([[False] * 4, [False, False, True, True]]),
                                 "causal": True}


def cases():
    generator = torch.Generator().manual_seed(7)
    logits = torch.randn(3, 5, generator=generator) * 3
    batch_logits = torch.randn(2, 4, 6, generator=generator)
    labels = torch.tensor([[1, 2, 3, -100], [4, 5, -100, -100]])
    attention_args, attention_kwargs = attention_inputs()
    sentence = "I am a teacher. You are not happy!"
    return [
        Case("01-softmax", "softmax", ("softmax", "softmin"), (logits,), {"dim": -1}),
        Case("02-cross-entropy", "cross_entropy", ("cross_entropy", "entropy", "nll", "loss"), (batch_logits, labels),
             {}),
        Case("04-tokenize", "tokenize", ("tokeniz", "piece", "split", "encode"), (sentence, dict(TOKEN_IDS)), {}),
        Case("04-tokenize", "encode", ("tokeniz", "piece", "encode", "ids"), (sentence, dict(TOKEN_IDS)), {}),
        Case("05-teacher-forcing", "teacher_forcing_batch", ("teacher", "forcing", "shift", "pad", "batch"),
             ([[5, 6, 7], [8]], START_ID, EOS_ID, PAD_ID), {}),
        Case("06-greedy-decoding", "greedy_decode", ("greedy", "decode", "generate", "translate"),
             (ModelRef("toy_translator", seed=3), [22, 24, 5, EOS_ID], START_ID, EOS_ID), {"max_length": 8}),
        Case("07-sampling", "sample_next_token", ("sample", "sampling", "draw", "top_k", "topk"),
             (logits,), {"temperature": 0.7, "top_k": 3, "generator": torch.Generator().manual_seed(11)}),
        Case("08-attention", "scaled_dot_product_attention", ("attention", "attend", "attn", "sdpa"),
             attention_args, attention_kwargs),
    ]


def rule_of(folder: str) -> ReadyMade | None:
    rules = {spec.forbids for spec in load_exercise(exercise_files(EXERCISES / folder)).tests if spec.forbids}
    assert len(rules) <= 1
    return rules.pop() if rules else None


def reference(case: Case):
    solution = load_exercise(exercise_files(EXERCISES / case.folder)).solution
    from graders.code.authoring import _prepared

    args = [_prepared(arg) for arg in case.args]
    kwargs = {key: _prepared(value) for key, value in case.kwargs.items()}
    with torch.no_grad():
        return getattr(solution, case.function)(*args, **kwargs)


def same(got, expected) -> bool:
    if isinstance(expected, torch.Tensor):
        return (
            isinstance(got, torch.Tensor)
            and got.shape == expected.shape
            and bool(torch.allclose(got.double(), expected.double(), rtol=1e-4, atol=1e-5, equal_nan=True))
        )
    if isinstance(expected, tuple):
        return (
            isinstance(got, (tuple, list))
            and len(got) == len(expected)
            and all(same(a, b) for a, b in zip(got, expected, strict=True))
        )
    return got == expected


@pytest.mark.parametrize("case", cases(), ids=lambda case: f"{case.folder}-{case.function}")
def test_nothing_in_the_sandbox_memory_computes_an_exercises_answer(pool, case):
    rule = rule_of(case.folder)
    expected = reference(case)
    kind = "tensor" if isinstance(expected, torch.Tensor) else "tuple" if isinstance(expected, tuple) else "list"
    with pool.acquire(unavailable=rule) as sandbox:
        loaded = sandbox.load(WALKER, Limits(wall_seconds=120, cpu_seconds=120, memory_mb=1024), unavailable=rule)
        assert loaded.failure is None, loaded.failure
        outcome = sandbox.call(
            "walk", [list(rule.words if rule else case.words) + list(case.words), rule is None, kind,
                     list(case.args), case.kwargs], timeout=120
        )
    assert outcome.failure is None, outcome.failure
    found = outcome.value
    # The walk is real: it found and called many candidates.
    assert found["candidates"] > 20, found["candidates"]
    reproducing = sorted(name for name, value in found["results"].items() if same(value, expected))
    assert reproducing == [], reproducing


def test_the_walker_finds_an_answer_planted_in_memory(pool):
    """The walk would see an answer: a planted softmax in a module's globals is reported."""
    helper = (
        "def normalise(x, dim=-1):\\n"
        "    s = x - x.amax(dim=dim, keepdim=True)\\n"
        "    return s.exp() / s.exp().sum(dim=dim, keepdim=True)\\n"
    )
    planted = WALKER + textwrap.dedent(f'''
        import types as _types
        _module = _types.ModuleType("planted_helpers")
        exec("{helper}", _module.__dict__)
        sys.modules["planted_helpers"] = _module
    ''')
    case = cases()[0]
    rule = rule_of(case.folder)
    with pool.acquire(unavailable=rule) as sandbox:
        assert sandbox.load(planted, Limits(wall_seconds=120, cpu_seconds=120, memory_mb=1024),
                            unavailable=rule).failure is None
        outcome = sandbox.call("walk", [["softmax"], False, "tensor", list(case.args), case.kwargs], timeout=120)
    assert outcome.failure is None, outcome.failure
    reproducing = [name for name, value in outcome.value["results"].items() if same(value, reference(case))]
    assert "planted_helpers.normalise" in reproducing


def test_the_walker_finds_torchs_softmax_where_no_rule_takes_it_away(pool):
    """Without the rule, torch's own softmax is in reach and the walk reports it: the rule is what removes it."""
    case = cases()[0]
    with pool.acquire() as sandbox:
        assert sandbox.load(WALKER, Limits(wall_seconds=120, cpu_seconds=120, memory_mb=1024)).failure is None
        outcome = sandbox.call("walk", [["softmax"], False, "tensor", list(case.args), case.kwargs], timeout=120)
    assert outcome.failure is None, outcome.failure
    reproducing = [name for name, value in outcome.value["results"].items() if same(value, reference(case))]
    assert any("softmax" in name for name in reproducing), reproducing


def test_exercises_are_where_the_walk_expects_them():
    assert all((EXERCISES / case.folder / "solution.py").exists() for case in cases())
    assert Path(EXERCISES).is_dir()
