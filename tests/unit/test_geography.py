"""The national reference geography shipped in data/reference/: complete, small, and usable for maps."""

import csv
import gzip

import polars as pl
import pytest
import shapely

from pipeline.config import parse_config
from pipeline.geography import (
    BOUNDARIES_FILE, IMD_FILE, LOOKUP_FILE, POPULATION_FILE, VINTAGES_FILE, conversions, read_boundaries,
)
from pipeline.paths import REFERENCE_DIR
from pipeline.workspace import starter_config

LSOAS_2011 = 34_753  # ONS: LSOAs (2011) of England and Wales
RESIDENTS_2011 = 56_075_912  # ONS: Census 2011 usual residents of England and Wales


def _rows(name: str) -> list[dict[str, str]]:
    with gzip.open(REFERENCE_DIR / name, "rt", newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def test_census_2011_population_is_complete():
    rows = _rows(POPULATION_FILE)
    assert len({r["lsoa11cd"] for r in rows}) == len(rows) == LSOAS_2011
    assert sum(int(r["usual_residents"]) for r in rows) == RESIDENTS_2011
    assert all(int(r["households"]) > 0 for r in rows)


def test_every_lsoa_has_a_ward_an_authority_a_deprivation_rank_and_a_boundary():
    lsoas = {r["lsoa11cd"] for r in _rows(LOOKUP_FILE) if r["ward_cd"] and r["lad_cd"]}
    assert len(lsoas) == LSOAS_2011
    imd = _rows(IMD_FILE)
    assert {r["lsoa11cd"] for r in imd} == lsoas
    assert {(r["imd_index"], r["imd_of"]) for r in imd} == {("IMD2019 (England)", "32844"), ("WIMD2019 (Wales)", "1909")}
    shapes = pl.read_parquet(REFERENCE_DIR / BOUNDARIES_FILE)
    assert set(shapes["lsoa11cd"]) == lsoas
    geometries = shapely.from_wkb(shapes["geometry"].to_list())
    assert shapely.is_valid(geometries).all() and not shapely.is_empty(geometries).any()


def test_shipped_files_stay_small():
    for name in (LOOKUP_FILE, POPULATION_FILE, IMD_FILE, VINTAGES_FILE, BOUNDARIES_FILE):
        assert (REFERENCE_DIR / name).stat().st_size < 2_000_000, name


def test_ward_polygons_are_the_dissolved_lsoas():
    """Calderdale's 17 wards drawn from the shipped LSOA boundaries: each one piece, together the district."""
    wards: dict[str, list[str]] = {}
    for r in _rows(LOOKUP_FILE):
        if r["lad_cd"] == "E08000033":
            wards.setdefault(r["ward_nm"], []).append(r["lsoa11cd"])
    shapes = read_boundaries(REFERENCE_DIR / BOUNDARIES_FILE, {c for codes in wards.values() for c in codes})
    dissolved = {ward: shapely.union_all([shapes[c] for c in codes]) for ward, codes in wards.items()}
    assert len(dissolved) == 17
    assert all(shape.geom_type == "Polygon" for shape in dissolved.values())
    district = shapely.union_all(list(shapes.values()))
    assert abs(sum(s.area for s in dissolved.values()) - district.area) < 1e-6 * district.area


def test_every_boundary_and_ward_of_england_and_wales_can_be_weighted_by_contiguity():
    """Read whole, the shipped file is polygons alone (one LSOA, E01024572, carries a zero-area line from rounding,
    which libpysal refused at national scale), so are the wards dissolved from it, and Queen contiguity takes them."""
    from pipeline.analysis.place import queen_weights, ward_shapes

    raw = dict(zip(*pl.read_parquet(REFERENCE_DIR / BOUNDARIES_FILE).to_dict(as_series=False).values()))
    assert shapely.from_wkb(raw["E01024572"]).geom_type == "GeometryCollection"  # what the file holds
    shapes = read_boundaries(REFERENCE_DIR / BOUNDARIES_FILE)
    wards = ward_shapes(shapes, {r["lsoa11cd"]: r["ward_cd"] for r in _rows(LOOKUP_FILE)})
    for polygons in (shapes, wards):
        assert {s.geom_type for s in polygons.values()} == {"Polygon", "MultiPolygon"}
    assert shapes["E01024572"].area == pytest.approx(shapely.from_wkb(raw["E01024572"]).area)
    assert queen_weights(wards).n == len(wards) > 7_000


def test_other_vintage_codes_overlap_as_the_ons_change_indicator_says():
    lookup = pl.read_csv(REFERENCE_DIR / VINTAGES_FILE, infer_schema=False)
    overlaps = conversions(2011).group_by("given_code").len()
    change = lookup.filter(pl.col("chgind") != "U").group_by("lsoa21cd").agg(pl.col("chgind").unique())
    joined = overlaps.join(change, left_on="given_code", right_on="lsoa21cd", how="full")
    assert joined.filter(pl.col("given_code").is_null() | pl.col("lsoa21cd").is_null()).is_empty()
    split = joined.filter(pl.col("chgind").list.contains("S"))
    merged = joined.filter(pl.col("chgind").list.contains("M"))
    assert split.height > 0 and (split["len"] == 1).all()  # a 2021 LSOA split out of one 2011 LSOA
    assert merged.height > 0 and (merged["len"] > 1).all()  # a 2021 LSOA merged from several


@pytest.mark.parametrize("codes", [["W06000015"], ["E09000002", "E09000016"], ["E06000060"]])  # Cardiff; a group; Buckinghamshire (2020)
def test_starter_config_for_any_area_is_valid_and_carries_no_calderdale(codes):
    text = starter_config(codes)
    config = parse_config(text, origin="starter")
    assert config.partnerships[0].local_authorities == codes
    assert "Calderdale" not in text and "HX1" not in text and "West Yorkshire" not in text


def test_an_unknown_local_authority_in_partnership_yaml_suggests_the_closest():
    from pipeline.config import ConfigError

    with pytest.raises(ConfigError) as caught:
        parse_config(starter_config(["E09000002"]).replace("[E09000002]", "[E09000099]"), origin="partnership.yaml")
    message = str(caught.value)
    assert "partnerships[0].local_authorities: found ['E09000099']; 'E09000099' is not the GSS code of a local authority" in message
    assert "closest: E09000029 Sutton" in message


def test_in_a_2021_workspace_split_2011_codes_are_the_ambiguous_ones():
    lookup = pl.read_csv(REFERENCE_DIR / VINTAGES_FILE, infer_schema=False)
    overlaps = dict(conversions(2021).group_by("given_code").len().iter_rows())
    split = set(lookup.filter(pl.col("chgind") == "S")["lsoa11cd"])
    merged = set(lookup.filter(pl.col("chgind") == "M")["lsoa11cd"])
    assert split and all(overlaps[code] > 1 for code in split)
    assert merged and all(overlaps[code] == 1 for code in merged)
