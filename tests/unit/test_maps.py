"""Maps on hand-built squares: the outline marts (one row per ward or LSOA, drawn from the LSOA boundaries), the
SVG's cues that do not rely on colour, and the public copy of the LSOA outlines (nothing below ward level)."""

import xml.etree.ElementTree as ET

import polars as pl
import shapely

from pipeline.config import Disclosure
from pipeline.models.area_shapes import area_shapes
from pipeline.publish.choropleth import choropleth_svg
from pipeline.publish.disclosure import STATUS, WITHHELD, suppress

SVG = "{http://www.w3.org/2000/svg}"
# Six square LSOAs in two wards of three; L6 has no boundary in the file.
GEOGRAPHY = pl.DataFrame({"partnership_id": ["p"] * 6, "lsoa_code": [f"L{i}" for i in range(1, 7)],
                          "lsoa_name": [f"Town 00{i}A" for i in range(1, 7)],
                          "ward_code": ["W1"] * 3 + ["W2"] * 3, "ward_name": ["West"] * 3 + ["East"] * 3})
BOUNDARIES = {f"L{i}": shapely.box(i, 53.0, i + 1, 53.01) for i in range(1, 6)}


def test_ward_and_lsoa_outlines_come_from_the_same_boundaries():
    wards = area_shapes(GEOGRAPHY, BOUNDARIES, "ward").sort("ward_code")
    assert wards.select("ward_code", "lsoas", "lsoas_drawn").rows() == [("W1", 3, 3), ("W2", 3, 2)]
    west = shapely.from_wkt(wards["wkt"][0])
    assert abs(west.area - shapely.union_all([BOUNDARIES[c] for c in ("L1", "L2", "L3")]).area) < 1e-9
    lsoas = area_shapes(GEOGRAPHY, BOUNDARIES, "lsoa").sort("lsoa_code")
    assert lsoas["lsoa_code"].to_list() == ["L1", "L2", "L3", "L4", "L5"]  # L6 has nothing to draw
    assert lsoas.select("lsoa_name", "ward_name").row(3) == ("Town 004A", "East")
    assert all(shapely.from_wkt(w).equals(BOUNDARIES[c]) for c, w in lsoas.select("lsoa_code", "wkt").rows())


def _svg(**options) -> ET.Element:
    outlines = [(c, g.wkt) for c, g in BOUNDARIES.items()]
    values = {"L1": 10.0, "L2": 20.0, "L3": 30.0, "L4": 40.0, "L5": None}
    text = choropleth_svg(outlines, values, label="Rate per 1,000", value_text={c: f"{v}" for c, v in values.items() if v},
                          title="L4 has the highest rate", description="Map of five LSOAs", ident="map-t", **options)
    return ET.fromstring(text)


def test_hotspots_are_outlined_and_persistent_ones_marked_with_a_named_image():
    svg = _svg(labelled=False, outlined={"L3", "L4"}, outline_label="Hotspot", marked={"L4"}, marker_label="Persistent hotspot")
    areas = [p for p in svg.iter(f"{SVG}path") if p.get("data-area") and not p.get("class")]
    assert sorted(p.get("data-area") for p in areas) == ["L1", "L2", "L3", "L4", "L5"]
    assert {p.get("data-area") for p in svg.iter(f"{SVG}path") if p.get("class") == "csp-outlined"} == {"L3", "L4"}
    assert {p.get("data-area") for p in svg.iter(f"{SVG}path") if p.get("class") == "csp-marked"} == {"L4"}
    texts = [t.text for t in svg.iter(f"{SVG}text")]
    assert "Hotspot" in texts and "Persistent hotspot" in texts
    assert not {"10.0", "40.0"} & set(texts)  # many small areas: the values are in the table, not on the map
    assert svg.get("role") == "img"
    assert svg.find(f"{SVG}title").text == "L4 has the highest rate" and svg.get("aria-labelledby") == "map-t-title"
    assert svg.find(f"{SVG}desc").text == "Map of five LSOAs" and svg.get("aria-describedby") == "map-t-desc"
    assert next(svg.iter(f"{SVG}pattern")).get("id") == "map-t-nodata"  # ids unique to the map in a page


def test_a_labelled_map_writes_each_value_on_its_area_and_draws_no_cue_it_was_not_given():
    svg = _svg()
    texts = [t.text for t in svg.iter(f"{SVG}text")]
    assert {"10.0", "20.0", "30.0", "40.0", "no data"} <= set(texts)
    assert not [p for p in svg.iter(f"{SVG}path") if p.get("class")]
    assert "Hotspot" not in texts


def test_the_public_copy_of_the_lsoa_outlines_withholds_every_row_and_drops_its_outline():
    public = suppress(area_shapes(GEOGRAPHY, BOUNDARIES, "lsoa"), "mart_lsoa_shapes", Disclosure())
    assert set(public[STATUS]) == {WITHHELD} and public["wkt"].null_count() == public.height == 5
    wards = suppress(area_shapes(GEOGRAPHY, BOUNDARIES, "ward"), "mart_ward_shapes", Disclosure())
    assert wards["wkt"].null_count() == 0 and wards[STATUS].null_count() == wards.height
