"""What an edition is made of before anything renders: the period it covers, the branding it carries (and the
colours it refuses), and what `quarto render` would be given, so that Quarto carries the same markings as the
engines path although Quarto is not installed here."""

import datetime as dt
from pathlib import Path

import pytest
import yaml

from pipeline.config import ConfigError, parse_config
from pipeline.paths import PROJECT_ROOT
from pipeline.publish.assets import discover, read_report
from pipeline.publish.periods import financial_year, last_complete, quarter
from pipeline.publish.quarto import quarto_commands
from pipeline.publish.render import Look
from pipeline.workspace import STARTER_CONFIG

MINI = PROJECT_ROOT / "tests" / "fixtures" / "reports" / "mini.qmd"


@pytest.mark.parametrize("end, year, last_quarter", [
    ("2025-03", "2024-25", "2024-25-Q4"),
    ("2025-02", "2023-24", "2024-25-Q3"),
    ("2024-12", "2023-24", "2024-25-Q3"),
    ("2025-06", "2024-25", "2025-26-Q1"),
    ("2024-04", "2023-24", "2023-24-Q4"),
])
def test_the_period_is_the_last_complete_year_or_quarter(end: str, year: str, last_quarter: str) -> None:
    assert last_complete("financial-year", end) == year
    assert last_complete("quarter", end) == last_quarter


def test_months_fall_in_financial_years_and_quarters() -> None:
    assert financial_year(dt.date(2024, 4, 1)) == "2024-25" and financial_year(dt.date(2025, 3, 1)) == "2024-25"
    assert financial_year(dt.date(1999, 12, 1)) == "1999-00"
    assert [quarter(dt.date(2024, m, 1)) for m in (4, 7, 10)] + [quarter(dt.date(2025, 1, 1))] == [
        "2024-25-Q1", "2024-25-Q2", "2024-25-Q3", "2024-25-Q4"]


def test_every_report_has_a_published_name_and_a_period_kind() -> None:
    reports = {r.name: r for r in discover()}
    assert reports["scrutiny_pack"].slug == "scrutiny-pack"
    assert all(r.period_kind in ("financial-year", "quarter") for r in reports.values())


def test_a_report_with_an_unknown_period_kind_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "x.qmd"
    path.write_text("---\ntitle: X\ncsp:\n  reads: [marts/m]\n  period: month\n---\n", encoding="utf-8")
    with pytest.raises(ValueError, match="csp: period: 'month'; expected one of financial-year, quarter"):
        read_report(path)


def _config_with_branding(branding: dict) -> str:
    raw = yaml.safe_load(STARTER_CONFIG.format(name="Test"))
    raw["partnerships"][0]["branding"] = branding
    return yaml.safe_dump(raw)


def test_branding_is_read_per_partnership() -> None:
    config = parse_config(_config_with_branding({"name": "Safer Calderdale", "accent": "#801650",
                                                 "logo": "logo.png"}))
    brand = config.partnerships[0].branding
    assert (brand.name, brand.accent, brand.logo) == ("Safer Calderdale", "#801650", "logo.png")


@pytest.mark.parametrize("accent, expected", [
    ("#F4D03F", r"partnerships\[0\]\.branding\.accent: found '#F4D03F'; contrast 1\.\d:1 against white is below the 3:1"),
    ("#28A19", r"partnerships\[0\]\.branding\.accent: found '#28A19'; must be a colour written #RRGGBB"),
])
def test_an_accent_colour_below_3_to_1_on_white_is_refused_naming_the_key(accent: str, expected: str) -> None:
    with pytest.raises(ConfigError, match=expected):
        parse_config(_config_with_branding({"accent": accent}))


def test_quarto_is_given_the_markings_and_the_look(tmp_path: Path) -> None:
    logo = tmp_path / "logo.svg"
    logo.write_text('<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"/>', encoding="utf-8")
    look = Look(marking="OFFICIAL-SENSITIVE", organisation="Safer Calderdale", accent="#801650", logo=logo)
    work = tmp_path / "work"
    work.mkdir()
    commands = quarto_commands("/opt/quarto/bin/quarto", MINI, work, {"area": "Calderdale", "year": 2024, "ok": True},
                               ("html", "pdf"), look)
    assert [c[0] for c in commands] == ["html", "pdf"]
    html_cmd, pdf_cmd = commands[0][1], commands[1][1]
    assert html_cmd[:5] == ["/opt/quarto/bin/quarto", "render", str(work / "src" / "mini.qmd"), "--to", "html"]
    assert pdf_cmd[4] == "typst" and ["-P", "area:Calderdale"] == pdf_cmd[7:9] and "ok:true" in pdf_cmd
    assert commands[0][2]["CSP_RENDER_MARKING"] == "OFFICIAL-SENSITIVE"
    assert commands[1][2]["CSP_RENDER_FORMAT"] == "pdf"

    copy = work / "src"
    metadata = yaml.safe_load((copy / "_metadata.yml").read_text(encoding="utf-8"))["format"]
    for key in ("include-in-header", "include-before-body", "include-after-body"):
        assert (copy / metadata["html"][key][0]).is_file()
    before = (copy / metadata["html"]["include-before-body"][0]).read_text(encoding="utf-8")
    after = (copy / metadata["html"]["include-after-body"][0]).read_text(encoding="utf-8")
    assert '<p class="csp-marking" role="note">OFFICIAL-SENSITIVE</p>' in before
    assert "OFFICIAL-SENSITIVE" in after and "Safer Calderdale" in before and "data:image/svg+xml;base64," in before
    head = (copy / metadata["html"]["include-in-header"][0]).read_text(encoding="utf-8")
    assert "--csp-accent: #801650" in head and 'content="OFFICIAL-SENSITIVE"' in head

    assert metadata["typst"]["template-partials"] == ["typst-show.typ"] and metadata["typst"]["keywords"] == ["OFFICIAL-SENSITIVE"]
    assert 'conf(' in (copy / "typst-show.typ").read_text(encoding="utf-8")
    look_typ = (copy / "csp-look.typ").read_text(encoding="utf-8")
    assert '#let marking = "OFFICIAL-SENSITIVE"' in look_typ and '#let logo = "csp-logo.svg"' in look_typ
    assert (copy / "csp-logo.svg").is_file() and (copy / "csp.typ").is_file()
