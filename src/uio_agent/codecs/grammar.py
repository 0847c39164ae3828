"""Constrained decoding: a token-level automaton that says which ids may come next.

A codec describes its output language as a small graph whose edges carry either one token id or a
whole id *class* (e.g. "any location token"). Literal text is added as the exact id sequence the
tokenizer produces for it, so every accepted sequence decodes to text the codec can parse. Runs are
simulated as sets of states (an NFA), so alternatives sharing a prefix — ``")"`` then EOS versus
``") 2: pick from ("`` — need no hand-made determinisation.

``TokenGrammar.allowed_tokens()`` adapts the automaton to the model's ``allowed_tokens`` hook; the
state of each prefix is memoised, so a step costs one transition per row.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
import torch
from torch import Tensor

from uio_agent.model.batch import EOS_ID

#: label of an edge: a token id, or the name of an id class
Label = int | str


class ActionParseError(ValueError):
    """Model output that is not a valid action for the codec; ``text`` holds the offending output."""

    def __init__(self, message: str, text: str) -> None:
        shown = text if len(text) <= 160 else f"{text[:160]}... ({len(text)} characters)"
        super().__init__(f"{message}: {shown!r}")
        self.text = text


class TokenGrammar:
    """An NFA over token ids. State 0 is the start; ``accept`` is the state after EOS."""

    def __init__(self, vocab_size: int, classes: dict[str, Sequence[int]] | None = None) -> None:
        self.vocab_size = vocab_size
        self.classes = {name: np.asarray(ids, dtype=np.int64) for name, ids in (classes or {}).items()}
        self._edges: list[dict[Label, set[int]]] = [{}]
        self.accept = self.new_state()
        self._memo: dict[tuple[int, ...], frozenset[int]] = {(): frozenset({0})}

    def new_state(self) -> int:
        self._edges.append({})
        return len(self._edges) - 1

    def add_edge(self, source: int, label: Label, target: int) -> None:
        if isinstance(label, str) and label not in self.classes:
            raise ValueError(f"unknown token class {label!r}")
        self._edges[source].setdefault(label, set()).add(target)

    def add_path(self, source: int, labels: Sequence[Label], target: int) -> None:
        """Connect ``source`` to ``target`` through a chain of fresh states, one per label."""
        if not labels:
            raise ValueError("a path needs at least one label")
        current = source
        for label in labels[:-1]:
            nxt = self.new_state()
            self.add_edge(current, label, nxt)
            current = nxt
        self.add_edge(current, labels[-1], target)

    def add_end(self, source: int) -> None:
        """EOS is allowed at ``source`` and leads to acceptance."""
        self.add_edge(source, EOS_ID, self.accept)

    # ------------------------------------------------------------------ simulation
    def _step(self, states: frozenset[int], token: int) -> frozenset[int]:
        nxt: set[int] = set()
        for state in states:
            for label, targets in self._edges[state].items():
                if label == token or (isinstance(label, str) and token in self._class_set(label)):
                    nxt |= targets
        return frozenset(nxt)

    def _class_set(self, name: str) -> frozenset[int]:
        cached = getattr(self, "_class_sets", None)
        if cached is None:
            cached = {n: frozenset(int(i) for i in ids) for n, ids in self.classes.items()}
            self._class_sets = cached
        return cached[name]

    def states_after(self, prefix: Iterable[int]) -> frozenset[int]:
        """States reachable after ``prefix`` (empty when the prefix already left the language)."""
        key = tuple(int(t) for t in prefix)
        if key in self._memo:
            return self._memo[key]
        states = self._step(self.states_after(key[:-1]), key[-1])
        self._memo[key] = states
        return states

    def allowed_mask(self, prefix: Iterable[int]) -> np.ndarray:
        """Boolean mask [vocab_size] of the ids that may follow ``prefix``."""
        mask = np.zeros(self.vocab_size, dtype=bool)
        for state in self.states_after(prefix):
            for label in self._edges[state]:
                if isinstance(label, str):
                    mask[self.classes[label]] = True
                else:
                    mask[label] = True
        return mask

    def accepts(self, ids: Iterable[int]) -> bool:
        """Whether ``ids`` (ending with EOS) is a complete sentence of the language."""
        return self.accept in self.states_after(ids)

    def allowed_tokens(self) -> AllowedTokensFn:
        """The callable the model's ``generate(allowed_tokens=...)`` hook expects."""
        return AllowedTokensFn(self)


class AllowedTokensFn:
    """``prefix [N, t] -> mask [N, V]`` over a grammar; PAD after EOS is handled by the generator."""

    def __init__(self, grammar: TokenGrammar) -> None:
        self.grammar = grammar

    def __call__(self, prefix: Tensor) -> Tensor:
        rows = [self.grammar.allowed_mask(row) for row in prefix.tolist()]
        return (
            torch.from_numpy(np.stack(rows))
            if rows
            else torch.zeros(0, self.grammar.vocab_size, dtype=torch.bool)
        )


class PerRowAllowedTokens:
    """Several grammars in one batch: batch row ``b`` uses ``grammars[b]``; with beam search each row is
    repeated ``beams`` times (rows ``b*beams .. b*beams+beams-1``)."""

    def __init__(self, grammars: Sequence[TokenGrammar], beams: int = 1) -> None:
        if not grammars:
            raise ValueError("PerRowAllowedTokens needs at least one grammar")
        self.grammars = list(grammars)
        self.beams = beams

    def __call__(self, prefix: Tensor) -> Tensor:
        rows = [self.grammars[i // self.beams].allowed_mask(row) for i, row in enumerate(prefix.tolist())]
        return torch.from_numpy(np.stack(rows))
