"""The last outcome of each crime, as police.uk would show it when the demo's files were downloaded.

Whether a suspect was identified decides most of it (no suspect: the investigation closes; a suspect: a charge,
a caution, a community resolution, or evidential difficulties). Recent crimes are still under investigation,
and recent charges still await court.
"""

from __future__ import annotations

from datetime import date

import numpy as np

from pipeline.demo.records import draw_labels

OUTCOMES_AS_AT = date(2025, 5, 31)
UNDER_INVESTIGATION_DAYS = 60.0  # the chance a crime is still under investigation halves every ~6 weeks
AWAITING_COURT_DAYS = 180.0  # likewise for a charged case awaiting its court result

PROFILES = {
    "no_suspect": {
        "Investigation complete; no suspect identified": 0.84,
        "Unable to prosecute suspect": 0.08,
        "Status update unavailable": 0.05,
        "Further investigation is not in the public interest": 0.03,
    },
    "suspect": {
        "Unable to prosecute suspect": 0.50,
        "Local resolution": 0.09,
        "Court result unavailable": 0.06,
        "Offender given a caution": 0.05,
        "Offender sent to prison": 0.05,
        "Offender given community sentence": 0.04,
        "Offender fined": 0.04,
        "Further investigation is not in the public interest": 0.03,
        "Offender given suspended prison sentence": 0.025,
        "Defendant found not guilty": 0.02,
        "Formal action is not in the public interest": 0.02,
        "Action to be taken by another organisation": 0.02,
        "Suspect charged as part of another case": 0.02,
        "Status update unavailable": 0.02,
        "Offender given conditional discharge": 0.01,
        "Court case unable to proceed": 0.01,
        "Offender given penalty notice": 0.01,
        "Offender ordered to pay compensation": 0.005,
    },
    "domestic": {
        "Unable to prosecute suspect": 0.66,
        "Offender given community sentence": 0.05,
        "Court result unavailable": 0.05,
        "Offender sent to prison": 0.04,
        "Offender given suspended prison sentence": 0.03,
        "Defendant found not guilty": 0.03,
        "Offender given a caution": 0.03,
        "Further investigation is not in the public interest": 0.03,
        "Court case unable to proceed": 0.02,
        "Status update unavailable": 0.02,
        "Suspect charged as part of another case": 0.02,
        "Action to be taken by another organisation": 0.01,
        "Offender fined": 0.01,
    },
    "drugs": {
        "Offender given a drugs possession warning": 0.22,
        "Local resolution": 0.16,
        "Unable to prosecute suspect": 0.12,
        "Court result unavailable": 0.08,
        "Offender given a caution": 0.07,
        "Offender sent to prison": 0.07,
        "Formal action is not in the public interest": 0.06,
        "Offender fined": 0.06,
        "Offender given community sentence": 0.05,
        "Further action is not in the public interest": 0.03,
        "Offender given conditional discharge": 0.03,
        "Offender given penalty notice": 0.03,
        "Offender deprived of property": 0.02,
    },
}
COURT_OUTCOMES = frozenset(
    {
        "Offender sent to prison",
        "Offender given community sentence",
        "Offender fined",
        "Offender given suspended prison sentence",
        "Offender given conditional discharge",
        "Offender ordered to pay compensation",
        "Offender deprived of property",
        "Defendant found not guilty",
        "Court result unavailable",
        "Court case unable to proceed",
    }
)


def last_outcomes(profile: np.ndarray, committed: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """The last outcome of each crime, given its `PROFILES` name and its committed day (datetime64[D])."""
    outcome = np.empty(profile.size, dtype=object)
    for name, shares in PROFILES.items():
        rows = np.flatnonzero(profile == name)
        outcome[rows] = draw_labels(shares, rows.size, rng)
    age = (np.datetime64(OUTCOMES_AS_AT, "D") - committed).astype(np.int64)
    awaiting = np.isin(outcome, sorted(COURT_OUTCOMES)) & (rng.random(outcome.size) < np.exp(-age / AWAITING_COURT_DAYS))
    outcome = np.where(awaiting, "Awaiting court outcome", outcome)
    open_case = rng.random(outcome.size) < np.exp(-age / UNDER_INVESTIGATION_DAYS)
    return np.where(open_case, "Under investigation", outcome)
