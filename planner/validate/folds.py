"""Which published runs are predicted together in grouped cross-validation: by publication (source), by GPU, or by GPU
architecture family. A fold is left out whole, so rows that share a harness, a cluster or an architecture never
grade figures fitted on their siblings."""
from __future__ import annotations

import re

from planner.catalog.load import Catalog
from planner.schema.runs import PublishedRun

FOLD_KINDS = ("run", "source", "gpu", "family")
"""run: leave-one-out; source: one publication; gpu: one catalog GPU id; family: one GPU architecture (ampere, …)."""

_REFERENCE_ID = re.compile(r"^(S\d+)\s*[—-]\s*(.*)$")
_REPO = re.compile(r"^([\w.-]+/[\w.-]+)(@[0-9a-f]{6,40})?")
_URL = re.compile(r"^https?://([^/\s]+)(/[^/\s#?]+)?")


def source_key(source: str) -> str:
    """A short, readable name of the publication a row comes from.

    - `S<n> — Title (…)`: the reference id a run's `source` opens with (catalog/published_runs.yaml) and its title
      up to the first parenthesis, colon, comma or quote, at most four words (`S14 — Pythia`);
    - `owner/repo@commit:path`: the repository at that commit (one published snapshot: Lambda's 2020 and 2022–24
      harnesses are different sources);
    - a URL: its host and first path segment;
    - anything else: its first words.
    """
    text = source.strip()
    ref = _REFERENCE_ID.match(text)
    if ref:
        title = " ".join(re.split(r"[(:,'\"]| via | \+ ", ref.group(2), maxsplit=1)[0].split()[:4])
        return f"{ref.group(1)} — {title}" if title else ref.group(1)
    url = _URL.match(text)
    if url:
        return url.group(1) + (url.group(2) or "")
    repo = _REPO.match(text)
    if repo and "/" in repo.group(1):
        return repo.group(1) + (repo.group(2) or "")
    return " ".join(text.split()[:4])


def fold_key(run: PublishedRun, by: str, catalog: Catalog) -> str:
    """The fold a run belongs to when cross-validating `by` run, source, gpu or family."""
    if by == "run":
        return run.id
    if by == "source":
        return source_key(run.source)
    if by == "gpu":
        return run.gpu
    if by == "family":
        return catalog.gpu(run.gpu).arch
    raise ValueError(f"unknown fold kind {by!r}; expected one of {', '.join(FOLD_KINDS)}")
