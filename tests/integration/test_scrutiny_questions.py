"""The scrutiny pack answers each question the committee sent: a section per question of partnership.yaml, each
citing at least one indicator with its verdict, in both editions; the strategy review rates every measure."""

import html
import re

import pytest

from pipeline.analysis.catalogue import load_catalogue

VERDICT = re.compile(r"no significant change|a significant (increase|decrease)|(above|below|similar to) its peers")


@pytest.mark.parametrize("edition", ["public", "restricted"])
def test_each_committee_question_has_a_section_citing_an_indicator_with_its_verdict(demo_workspace, edition):
    ws, _ = demo_workspace
    config = ws.config()
    root = ws.published if edition == "public" else ws.restricted
    page = next((root / "calderdale" / "scrutiny-pack").glob("*/report.html")).read_text(encoding="utf-8")
    catalogue = load_catalogue()
    assert len(config.scrutiny.questions) == 7
    for question in config.scrutiny.questions:
        assert f'id="{question.id}"' in page, f"no section for question {question.id}"
        rest = page.split(f'id="{question.id}"', 1)[1]  # the section's heading, then its body up to the next section
        heading, body = rest.split("</h2>", 1)
        section = heading + re.split(r"<section\b|<h2\b", body, maxsplit=1)[0]
        text = re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", section))).replace("\u2019", "'")
        assert question.question in text
        # a sentence naming an indicator and its verdict (not just the table)
        cited = [line for line in re.split(r"(?<=\.) (?=[A-Z])", text)
                 if any(catalogue[i].title.lower() in line.lower() for i in question.indicators) and VERDICT.search(line)]
        assert cited, f"question {question.id}: no indicator cited with its verdict in the {edition} edition"


def test_the_strategy_review_rates_every_measure(demo_workspace):
    ws, _ = demo_workspace
    page = next((ws.restricted / "calderdale" / "strategy-review").glob("*/report.html")).read_text(encoding="utf-8")
    text = re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", page)))
    strategy = ws.config().strategy
    for priority in strategy.priorities:
        assert f'id="{priority.id}"' in page
    assert "Green: the latest figure meets its target" in text  # the RAG rule is stated
    assert strategy.priorities[0].actions[0] in text
    assert "Commentary to come" in text  # no commentary written in the demo: the restricted draft says so
    public = next((ws.published / "calderdale" / "strategy-review").glob("*/report.html")).read_text(encoding="utf-8")
    assert "Commentary to come" not in public
