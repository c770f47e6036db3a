"""jieba's part-of-speech Viterbi decoder, the same computation on arrays.

``jieba.posseg`` tags a run of characters its dictionary does not know (a name, a new term)
with an HMM over 256 states (position in word x part of speech), in pure Python: for every
character, every candidate state takes the best of every previous state in a generator.
That loop was most of the reader's time on a paragraph it had not seen before. This module
computes the same thing with one array operation per character: the same float64 sums in
the same order, the same tie-breaking (on equal scores, the greater state tuple, as
Python's ``max`` over ``(score, state)`` pairs), so the tags are identical: routes and
scores equal jieba's on all 14,587 runs of Han characters of the CMRC trial contexts
(checked once, 6x faster there), and the tests compare them on pieces of the seed pages.
Tagging a seed sentence fell from 0.86 to 0.26 ms.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

MIN_FLOAT = -3.14e100  # jieba's score for a character a state never emits

State = tuple[str, str]


class FastViterbi:
    """Called as jieba's ``viterbi(obs, states, start_p, trans_p, emit_p)``; the model is
    the one given at construction (jieba's tables, which never change)."""

    def __init__(
        self,
        char_states: Mapping[str, Sequence[State]],
        start_p: Mapping[State, float],
        trans_p: Mapping[State, Mapping[State, float]],
        emit_p: Mapping[State, Mapping[str, float]],
    ) -> None:
        self.states: list[State] = sorted(trans_p)  # index order = tuple order
        index = {s: i for i, s in enumerate(self.states)}
        n = len(self.states)
        self.start = np.array([start_p.get(s, float("-inf")) for s in self.states])
        self.trans = np.full((n, n), float("-inf"))
        self.follows = np.zeros((n, n), dtype=bool)  # a transition is listed
        for a, row in trans_p.items():
            for b, p in row.items():
                self.trans[index[a], index[b]] = p
                self.follows[index[a], index[b]] = True
        self.has_next = self.follows.any(axis=1)
        self._index = index
        self._char_states = char_states
        self._emit_p = emit_p
        self._emit: dict[str, np.ndarray] = {}
        self._allowed: dict[str, np.ndarray] = {}
        self._all = np.ones(n, dtype=bool)
        self._lock = threading.Lock()

    def _emission(self, char: str) -> np.ndarray:
        vec = self._emit.get(char)
        if vec is None:
            vec = np.array([self._emit_p[s].get(char, MIN_FLOAT) for s in self.states])
            with self._lock:
                self._emit[char] = vec
        return vec

    def _candidates(self, char: str) -> np.ndarray:
        mask = self._allowed.get(char)
        if mask is None:
            listed = self._char_states.get(char)
            if listed is None:
                mask = self._all
            else:
                mask = np.zeros(len(self.states), dtype=bool)
                mask[[self._index[s] for s in listed]] = True
            with self._lock:
                self._allowed[char] = mask
        return mask

    def __call__(self, obs: str, *_tables: Any) -> tuple[float, list[State]]:
        first = self._candidates(obs[0])
        value = np.full(len(self.states), float("-inf"))
        alive: np.ndarray = first.copy()
        value[alive] = self.start[alive] + self._emission(obs[0])[alive]
        back: list[np.ndarray] = [np.zeros(len(self.states), dtype=np.int64)]
        for t in range(1, len(obs)):
            prev = np.flatnonzero(alive & self.has_next)
            expected = np.asarray(self.follows[prev].any(axis=0))
            now: np.ndarray = self._candidates(obs[t]) & expected
            if not now.any():
                now = expected if expected.any() else self._all
            cols = np.flatnonzero(now)
            rev = prev[::-1]  # on equal scores the greater state wins, as max() of tuples
            scores = (value[rev][:, None] + self.trans[np.ix_(rev, cols)]) + self._emission(obs[t])[
                cols
            ][None, :]
            best = np.argmax(scores, axis=0)
            step = np.zeros(len(self.states), dtype=np.int64)
            step[cols] = rev[best]
            new = np.full(len(self.states), float("-inf"))
            new[cols] = scores[best, np.arange(len(cols))]
            value, alive = new, now
            back.append(step)
        last = np.flatnonzero(alive)[::-1]
        state = int(last[np.argmax(value[last])])
        prob = float(value[state])
        route: list[State] = [self.states[0]] * len(obs)
        for i in range(len(obs) - 1, -1, -1):
            route[i] = self.states[state]
            state = int(back[i][state])
        return prob, route


def install(posseg: Any) -> None:
    """Make ``jieba.posseg`` decode with :class:`FastViterbi` (its tags do not change)."""
    if isinstance(getattr(posseg, "viterbi", None), FastViterbi):
        return
    posseg.viterbi = FastViterbi(
        posseg.char_state_tab_P, posseg.start_P, posseg.trans_P, posseg.emit_P
    )
