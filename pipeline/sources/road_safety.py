"""Road safety: the STATS19 collision and casualty files, in the Department for Transport's open-data layout.

The police record every injury collision on a public road on the STATS19 form; DfT publishes them yearly as
`dft-road-casualty-statistics-collision-<year>.csv` and `…-casualty-<year>.csv` (national files; the highway
authority's road safety team can send the partnership's own in the same layout, sooner). Two sources, linked
by `collision_index`: collisions carry the place (LSOA, coordinates) and date, casualties the severity of each
person hurt, so killed-or-seriously-injured (KSI) counts are casualties placed by their collision.

The files' headings changed in 2024 (`accident_index` became `collision_index`, `accident_severity`
`collision_severity`): both are read. Their codes are read as published (severity 1 fatal, 2 serious, 3 slight;
-1 "missing or out of range" is read as blank), and the 30-odd published columns no indicator needs are dropped
at the door. Contributory factors (speed among them) are not in DfT's open data: the partnership's extract from
the force or the highway authority adds them as `contributory_factors`, the STATS19 factor codes recorded for
the collision (any vehicle, any order, e.g. `405 306`); `speed_factor` is then derived from codes 306
(exceeding the speed limit) and 307 (travelling too fast for conditions), and is blank without them.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import polars as pl

from pipeline.ingest.readers import TextTable
from pipeline.sources.base import Column, Key, Source

SEVERITIES = frozenset({"1", "2", "3"})  # DfT: 1 fatal, 2 serious, 3 slight
MISSING = ("-1", "NULL")  # DfT: "data missing or out of range"
SPEED_FACTORS = ("306", "307")  # exceeding the speed limit; travelling too fast for conditions
CASUALTY_TYPES = frozenset({  # DfT code list (2024): pedestrian 0, cyclist 1, motorcycles 2-5, 23, 97, car 9, ...
    "0", "1", "2", "3", "4", "5", "8", "9", "10", "11", "16", "17", "18", "19", "20", "21", "22", "23", "90",
    "97", "98", "99", "103", "104", "105", "106", "108", "109", "110", "113",
})

# Every heading of DfT's files (2024 names, then the names before 2024): those a source does not declare are
# dropped before the headings are matched, so a national file lands without forty "not read" warnings.
PUBLISHED = {
    "collision": (
        "collision_index", "collision_year", "collision_ref_no", "location_easting_osgr", "location_northing_osgr",
        "longitude", "latitude", "police_force", "collision_severity", "enhanced_collision_severity",
        "enhanced_severity_collision", "number_of_vehicles", "number_of_casualties", "date", "day_of_week", "time",
        "local_authority_district", "local_authority_ons_district", "local_authority_highway",
        "local_authority_highway_current", "first_road_class", "first_road_number", "road_type", "speed_limit",
        "junction_detail_historic", "junction_detail", "junction_control", "second_road_class", "second_road_number",
        "pedestrian_crossing_human_control_historic", "pedestrian_crossing_physical_facilities_historic",
        "pedestrian_crossing", "light_conditions", "weather_conditions", "road_surface_conditions",
        "special_conditions_at_site", "carriageway_hazards_historic", "carriageway_hazards", "urban_or_rural_area",
        "did_police_officer_attend_scene_of_collision", "did_police_officer_attend_scene_of_accident",
        "trunk_road_flag", "lsoa_of_collision_location", "lsoa_of_accident_location", "collision_injury_based",
        "collision_adjusted_severity_serious", "collision_adjusted_severity_slight", "collision_adjusted_serious",
        "collision_adjusted_slight",
        "accident_index", "accident_year", "accident_reference", "accident_severity",
        "pedestrian_crossing_human_control", "pedestrian_crossing_physical_facilities",
    ),
    "casualty": (
        "collision_index", "collision_year", "collision_ref_no", "vehicle_reference", "casualty_reference",
        "casualty_class", "sex_of_casualty", "age_of_casualty", "age_band_of_casualty", "casualty_severity",
        "enhanced_casualty_severity", "pedestrian_location", "pedestrian_movement", "car_passenger",
        "bus_or_coach_passenger", "pedestrian_road_maintenance_worker", "casualty_type", "casualty_imd_decile",
        "casualty_home_area_type", "lsoa_of_casualty", "casualty_injury_based", "casualty_adjusted_severity_serious",
        "casualty_adjusted_severity_slight", "casualty_adjusted_serious", "casualty_adjusted_slight",
        "casualty_distance_banding",
        "accident_index", "accident_year", "accident_reference",
    ),
}


def _dft_layout(published: tuple[str, ...], columns: tuple[Column, ...]):
    """A `prepare` for a DfT file: drop the published columns not declared, and read -1 (and NULL) as blank."""

    def prepare(table: TextTable, path: Path) -> TextTable:
        from pipeline.ingest.parse import normalise_heading  # ingest imports the registry, which imports this module

        unread = {normalise_heading(h) for h in published} - {normalise_heading(h) for c in columns for h in (c.name, *c.headings)}
        kept = [i for i, h in enumerate(table.headings) if normalise_heading(h) not in unread]
        data = table.data.select(
            pl.when(pl.col(f"c{i}").str.strip_chars().is_in(MISSING)).then(pl.lit("")).otherwise(pl.col(f"c{i}")).alias(f"c{n}")
            for n, i in enumerate(kept)
        )
        return replace(table, headings=[table.headings[i] for i in kept], data=data)

    return prepare


def _speed_factor() -> pl.Expr:
    factors = pl.col("contributory_factors")
    return pl.when(factors.is_not_null()).then(factors.str.contains(r"(^|[^0-9])(" + "|".join(SPEED_FACTORS) + r")([^0-9]|$)"))


def _year_start() -> pl.Expr:
    year = pl.col("collision_year")
    return pl.when(year.is_between(1979, 2100)).then(pl.date(year, 1, 1))


COLLISION_COLUMNS = (
    Column("collision_index", "code", nullable=False, headings=("accident_index",),
           description="DfT's id of the collision: its year and the force's reference"),
    Column("collision_date", "date", nullable=False, headings=("date", "accident_date")),
    Column("collision_time", "time", headings=("time",)),
    Column("collision_severity", "code", nullable=False, allowed=SEVERITIES, headings=("accident_severity",),
           description="of its most severe casualty: 1 fatal, 2 serious, 3 slight"),
    Column("lsoa_code", "lsoa", headings=("lsoa_of_accident_location", "lsoa_of_collision_location"),
           description="where it happened (England and Wales); blank where not known"),
    Column("longitude", "decimal", minimum=-180, maximum=180, description="WGS84; blank where not known"),
    Column("latitude", "decimal", minimum=-90, maximum=90),
    Column("local_authority_code", "code", required=False, headings=("local_authority_ons_district",)),
    Column("police_force", "code", required=False, description="DfT's force code (13: West Yorkshire)"),
    Column("number_of_vehicles", "integer", nullable=False, minimum=1),
    Column("number_of_casualties", "integer", nullable=False, minimum=1),
    Column("speed_limit", "integer", required=False, minimum=0, maximum=99, description="mph; 99 unknown (self-reported)"),
    Column("contributory_factors", "text", required=False, headings=("contributory_factor_codes",),
           description="not in DfT's open data: the STATS19 contributory factor codes of the collision, from the force or highway authority"),
    Column("speed_factor", "boolean", derive=_speed_factor,
           description="factor 306 or 307 recorded (exceeding the limit, too fast for conditions); blank without factors"),
)

COLLISIONS = Source(
    name="road_collisions",
    agency="police",
    title="Road traffic collisions (STATS19)",
    period_column="collision_date",
    cadence="annual",  # DfT publishes a year's final figures the following September
    lag_months=18,  # so January to March of a year appears about 18 months after it ends (October to December: 9)
    columns=COLLISION_COLUMNS,
    prepare=_dft_layout(PUBLISHED["collision"], COLLISION_COLUMNS),
    example="collision_index,collision_year,collision_ref_no,longitude,latitude,police_force,collision_severity,number_of_vehicles,"
    "number_of_casualties,date,time,local_authority_ons_district,speed_limit,lsoa_of_accident_location,contributory_factors\n"
    "2024130012345,2024,130012345,-1.86221,53.72193,13,2,2,1,14/06/2024,17:40,E08000033,30,E01010955,405 306",
    notes="DfT's open-data layout, national or cut to the partnership (`dft-road-casualty-statistics-collision-<year>.csv`; "
    "the headings before 2024, `accident_index`…, are read too). Published columns not listed here are dropped; -1 reads "
    "as blank. `contributory_factors` is the partnership's addition (DfT does not publish it): without it "
    "`speed_factor` is blank and speed-related measures cannot be computed. A re-issued year replaces that year's months.",
    keys=(Key(("collision_index",), "each collision appears once"),),
    volume_checked=True,
    inside_share=None,  # DfT's files are national: other areas' collisions are kept and placed outside
)

CASUALTY_COLUMNS = (
    Column("collision_index", "code", nullable=False, headings=("accident_index",), description="the collision's id, as in road_collisions"),
    Column("collision_year", "integer", nullable=False, minimum=1979, maximum=2100, headings=("accident_year",)),
    Column("vehicle_reference", "integer", nullable=False, minimum=0),
    Column("casualty_reference", "integer", nullable=False, minimum=1),
    Column("casualty_severity", "code", nullable=False, allowed=SEVERITIES, description="1 fatal, 2 serious, 3 slight"),
    Column("casualty_class", "code", allowed=frozenset({"1", "2", "3"}), description="1 driver or rider, 2 passenger, 3 pedestrian"),
    Column("casualty_type", "code", known=CASUALTY_TYPES, description="DfT code: 0 pedestrian, 1 cyclist, 9 car occupant, …"),
    Column("sex_of_casualty", "code", allowed=frozenset({"1", "2", "9"}), description="1 male, 2 female, 9 unknown"),
    Column("age_of_casualty", "integer", minimum=0, maximum=120),
    Column("adjusted_serious", "decimal", required=False, minimum=0, maximum=1,
           headings=("casualty_adjusted_severity_serious", "casualty_adjusted_serious"),
           description="DfT's probability the casualty was seriously injured (severity adjustment for the forces' reporting systems)"),
    Column("year_start", "date", derive=_year_start, description="1 January of `collision_year`: the period a file covers"),
)

CASUALTIES = Source(
    name="road_casualties",
    agency="police",
    title="Road casualties (STATS19)",
    period_column="year_start",
    period_grain="year",
    cadence="annual",
    lag_months=18,  # as road_collisions: DfT's yearly publication
    columns=CASUALTY_COLUMNS,
    prepare=_dft_layout(PUBLISHED["casualty"], CASUALTY_COLUMNS),
    example="collision_index,collision_year,collision_ref_no,vehicle_reference,casualty_reference,casualty_class,sex_of_casualty,"
    "age_of_casualty,casualty_severity,casualty_type,casualty_adjusted_severity_serious\n"
    "2024130012345,2024,130012345,1,1,3,2,34,2,0,1",
    notes="DfT's open-data layout (`dft-road-casualty-statistics-casualty-<year>.csv`), one row per person hurt; placed by "
    "its collision (`collision_index`), not by the casualty's home (`lsoa_of_casualty` is dropped). A file covers whole "
    "years: a re-issued year replaces all that year's casualties.",
    keys=(Key(("collision_index", "vehicle_reference", "casualty_reference"), "each casualty appears once"),),
    # a casualty whose collision has not landed is placed and dated nowhere: warned by the cross-source suite
    # expectations/conformed.source_periods_road_casualties.json (a raw suite may run before the collisions land)
)

SOURCES = (COLLISIONS, CASUALTIES)
