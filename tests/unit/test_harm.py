"""Harm weights: the ONS data tool's layout drops in, a bad file is refused naming its row, and the shipped
default is labelled as illustrative."""

import pytest

from pipeline.analysis.harm import ILLUSTRATIVE_SOURCE, weights_frame
from pipeline.config import HarmWeights


def test_default_weights_cover_the_offence_codes_and_are_labelled(tmp_path):
    frame = weights_frame(HarmWeights(), tmp_path)
    assert frame.height > 100
    assert frame["weights_illustrative"].all()
    assert set(frame["weights_source"]) == {ILLUSTRATIVE_SOURCE}


def test_an_official_file_in_its_own_layout_drops_in(tmp_path):
    (tmp_path / "css.csv").write_text('Offence code,Offence,CSS weight\n1,Murder,"7,979"\n 8N ,Assault with injury,150\n', encoding="utf-8")
    harm = HarmWeights(file="css.csv", weight="CSS weight", source="ONS Crime Severity Score weights")
    frame = weights_frame(harm, tmp_path)
    assert dict(zip(frame["offence_code"], frame["weight"])) == {"1": 7979.0, "8N": 150.0}
    assert not frame["weights_illustrative"].any()
    assert set(frame["weights_source"]) == {"ONS Crime Severity Score weights"}


@pytest.mark.parametrize("text, message", [
    ("Offence code,Weight\n1,heavy\n", "row 2, column 'Weight': 'heavy' is not a non-negative number"),
    ("Offence code,Weight\n1,5\n1,6\n", "offence code '1' is listed twice"),
    ("Code,Weight\n1,5\n", "no column 'Offence code' (partnership.yaml harm.code)"),
])
def test_a_bad_weights_file_is_refused_naming_where(tmp_path, text, message):
    (tmp_path / "w.csv").write_text(text, encoding="utf-8")
    with pytest.raises(ValueError, match="w.csv") as error:
        weights_frame(HarmWeights(file="w.csv"), tmp_path)
    assert message in str(error.value)
