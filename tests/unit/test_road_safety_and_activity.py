"""The two sources the strategy needs beyond the agencies' extracts: STATS19 road safety files in DfT's
open-data layout (both its 2024 headings and the older ones), and the partnership's activity return.

The 2024 rows are real: DfT road safety open data, 2024 collision and casualty files (Open Government Licence
v3.0), one row each, as published.
"""

from datetime import date, time

import pytest

from pipeline.ingest.assets import land
from pipeline.models.sql_assets import build_model, discover, set_run_variables
from pipeline.paths import EXPECTATIONS_DIR
from pipeline.quality.suites import load_suite, run_suite
from pipeline.sources import SOURCES
from tests.helpers import make_workspace

DFT_2024_COLLISION = (
    "collision_index,collision_year,collision_ref_no,location_easting_osgr,location_northing_osgr,longitude,latitude,"
    "police_force,collision_severity,number_of_vehicles,number_of_casualties,date,day_of_week,time,local_authority_district,"
    "local_authority_ons_district,local_authority_highway,local_authority_highway_current,first_road_class,first_road_number,"
    "road_type,speed_limit,junction_detail_historic,junction_detail,junction_control,second_road_class,second_road_number,"
    "pedestrian_crossing_human_control_historic,pedestrian_crossing_physical_facilities_historic,pedestrian_crossing,"
    "light_conditions,weather_conditions,road_surface_conditions,special_conditions_at_site,carriageway_hazards_historic,"
    "carriageway_hazards,urban_or_rural_area,did_police_officer_attend_scene_of_accident,trunk_road_flag,"
    "lsoa_of_accident_location,enhanced_severity_collision,collision_injury_based,collision_adjusted_severity_serious,"
    "collision_adjusted_severity_slight\n"
    "202417S312124,2024,17S312124,445858,516830,-1.29265,54.54466,17,3,1,1,22/10/2024,3,14:56,-1,E06000004,E06000004,"
    "E06000004,6,0,6,30,-1,0,-1,-1,-1,-1,-1,0,1,1,1,-1,-1,0,1,3,2,E01012239,3,1,0,1\n"
    "202417M119024,2024,17M119024,450057,519938,-1.22722,54.57219,17,3,2,1,05/12/2024,5,16:10,-1,E06000002,E06000002,"
    "E06000002,6,0,6,30,-1,0,-1,-1,-1,-1,-1,0,4,2,2,-1,-1,0,1,3,2,E01035190,3,1,0,1\n"
)
DFT_2024_CASUALTY = (
    "collision_index,collision_year,collision_ref_no,vehicle_reference,casualty_reference,casualty_class,sex_of_casualty,"
    "age_of_casualty,age_band_of_casualty,casualty_severity,pedestrian_location,pedestrian_movement,car_passenger,"
    "bus_or_coach_passenger,pedestrian_road_maintenance_worker,casualty_type,casualty_imd_decile,lsoa_of_casualty,"
    "enhanced_casualty_severity,casualty_injury_based,casualty_adjusted_severity_serious,casualty_adjusted_severity_slight,"
    "casualty_distance_banding\n"
    "2024430342145,2024,430342145,2,1,1,2,25,5,3,0,0,0,0,0,1,4,E01028532,-1,0,0.02417,0.97583,1\n"
)
# the headings DfT used before 2024 (accident_*), with the partnership's contributory factors added
OLDER_COLLISIONS = (
    "accident_index,accident_year,accident_reference,longitude,latitude,police_force,accident_severity,number_of_vehicles,"
    "number_of_casualties,date,day_of_week,time,local_authority_ons_district,speed_limit,did_police_officer_attend_scene_of_accident,"
    "lsoa_of_accident_location,contributory_factors\n"
    "2022130000001,2022,130000001,-1.86221,53.72193,13,1,1,2,14/06/2022,3,17:40,E08000033,40,1,E01010955,405 306\n"
    "2022130000002,2022,130000002,-1.85012,53.71880,13,2,2,1,20/06/2022,2,08:05,E08000033,30,1,E01010955,3061 602\n"
    "2022130000003,2022,130000003,-1.90100,53.74000,13,3,2,1,03/07/2022,1,12:00,E08000033,-1,2,-1,\n"
    "2022130000004,2022,130000004,-1.88000,53.73000,13,2,2,2,09/07/2022,7,23:10,E08000033,60,1,E01010956,307\n"
)
OLDER_CASUALTIES = (
    "accident_index,accident_year,accident_reference,vehicle_reference,casualty_reference,casualty_class,sex_of_casualty,"
    "age_of_casualty,casualty_severity,casualty_type,lsoa_of_casualty\n"
    "2022130000001,2022,130000001,1,1,1,1,23,1,9,E01010001\n"
    "2022130000001,2022,130000001,2,2,3,2,71,2,0,-1\n"
    "2022130000002,2022,130000002,1,1,1,1,40,2,5,E01010002\n"
    "2022130000003,2022,130000003,1,1,2,2,17,3,9,-1\n"
    "2022130000004,2022,130000004,1,1,1,1,19,2,9,-1\n"
    "2022130000004,2022,130000004,1,2,2,1,18,3,9,-1\n"
    "2022999999999,2022,999999999,1,1,3,2,8,2,0,-1\n"
)


def drop(ws, source: str, name: str, text: str):
    folder = ws.raw / source
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text(text, encoding="utf-8")


def test_dft_2024_files_land_as_published(tmp_path):
    ws = make_workspace(tmp_path)
    drop(ws, "road_collisions", "dft-road-casualty-statistics-collision-2024.csv", DFT_2024_COLLISION)
    drop(ws, "road_casualties", "dft-road-casualty-statistics-casualty-2024.csv", DFT_2024_CASUALTY)
    for name, rows in (("road_collisions", 2), ("road_casualties", 1)):
        [outcome] = land(ws, SOURCES[name]).files
        assert (outcome.status, outcome.rows_accepted, outcome.detail) == ("loaded", rows, ""), outcome  # no "not read" warnings
    with ws.connect(read_only=True) as con:
        collision = con.execute(
            "SELECT collision_index, collision_date, collision_time, collision_severity, lsoa_code, local_authority_code, "
            "speed_limit, number_of_casualties, speed_factor, _period FROM raw.road_collisions ORDER BY collision_date").fetchone()
        lsoa_2021 = con.execute("SELECT lsoa_code FROM raw.road_collisions WHERE collision_index = '202417M119024'").fetchone()
        casualty = con.execute(
            "SELECT collision_index, casualty_severity, casualty_class, casualty_type, age_of_casualty, adjusted_serious, "
            "year_start, _period FROM raw.road_casualties").fetchone()
    assert collision == ("202417S312124", date(2024, 10, 22), time(14, 56), "3", "E01012239", "E06000004", 30, 1, None,
                         date(2024, 10, 1))
    assert lsoa_2021 == ("E01035190",)  # DfT's 2024 files carry LSOA 2021 codes: kept as written, placed by conformed.placements
    assert casualty == ("2024430342145", "3", "1", "1", 25, 0.02417, date(2024, 1, 1), date(2024, 1, 1))


@pytest.fixture
def older(tmp_path):
    """A workspace with the pre-2024 layout landed (plus contributory factors) and the staging models built."""
    ws = make_workspace(tmp_path)
    drop(ws, "road_collisions", "collisions-2022.csv", OLDER_COLLISIONS)
    drop(ws, "road_casualties", "casualties-2022.csv", OLDER_CASUALTIES)
    for name in ("road_collisions", "road_casualties"):
        [outcome] = land(ws, SOURCES[name]).files
        assert outcome.status == "loaded" and outcome.rows_rejected == 0, outcome
    for model in discover():
        if model.name in ("stg_road_collisions", "stg_road_casualties"):
            build_model(ws, model)
    return ws


def test_older_headings_minus_one_and_speed_factors(older):
    with older.connect(read_only=True) as con:
        rows = con.execute("SELECT collision_index, lsoa_code, speed_limit, speed_factor FROM raw.road_collisions ORDER BY 1").fetchall()
    assert rows == [
        ("2022130000001", "E01010955", 40, True),  # 306: exceeding the speed limit
        ("2022130000002", "E01010955", 30, False),  # 3061 is not 306
        ("2022130000003", None, None, None),  # -1 read as blank; police did not attend, so no factors
        ("2022130000004", "E01010956", 60, True),  # 307: too fast for conditions
    ]


def test_ksi_casualties_are_placed_and_dated_by_their_collision(older):
    with older.connect(read_only=True) as con:
        by_place = con.execute(
            "SELECT month, lsoa_code, count(*) FILTER (WHERE ksi), count(*) FILTER (WHERE ksi AND speed_factor), count(*) "
            "FROM staging.stg_road_casualties WHERE collision_found GROUP BY ALL ORDER BY ALL").fetchall()
        lost = con.execute("SELECT collision_index FROM staging.stg_road_casualties WHERE NOT collision_found").fetchall()
        collisions = con.execute("SELECT collision_index, severity, casualties, killed, ksi FROM staging.stg_road_collisions ORDER BY 1").fetchall()
    # by hand from the rows above: June: collision 1 (killed driver, seriously injured pedestrian; speed) and collision
    # 2 (serious; no speed factor) in E01010955; July: collision 3 (slight; no LSOA) and 4 (one serious, speed) in E01010956
    assert by_place == [
        (date(2022, 6, 1), "E01010955", 3, 2, 3),
        (date(2022, 7, 1), "E01010956", 1, 1, 2),
        (date(2022, 7, 1), None, 0, 0, 1),
    ]
    assert lost == [("2022999999999",)]
    assert collisions[0] == ("2022130000001", "fatal", 2, 1, 2)


def test_a_reissued_casualty_year_replaces_that_year(older):
    drop(older, "road_casualties", "casualties-2022-revised.csv", OLDER_CASUALTIES.replace(",1,9,E01010001\n", ",2,9,E01010001\n"))
    [outcome] = land(older, SOURCES["road_casualties"]).files[-1:]
    assert outcome.status == "loaded"
    with older.connect(read_only=True) as con:
        assert con.execute("SELECT count(*), count(*) FILTER (WHERE casualty_severity = '1') FROM raw.road_casualties").fetchone() == (7, 0)


ACTIVITY = (
    "Measure,Quarter,Value,Unit,Out Of,Owner\n"
    "people_trained,2024-04,86,count,,Community Safety Team\n"
    "interventions_delivered,2024-04,51,,,Community Safety Team\n"
    "hate_training_better_understanding,2024-04,74.5,%,51,Hate Crime Partnership\n"
    "campaign_reach,2024-04,2650,count,,Communications Team\n"
)


def test_activity_return_lands_and_each_owner_replaces_only_their_own_quarter(tmp_path):
    ws = make_workspace(tmp_path)
    drop(ws, "partnership_activity", "2024-25-Q1.csv", ACTIVITY)
    land(ws, SOURCES["partnership_activity"])
    drop(ws, "partnership_activity", "2024-25-Q1-cst-corrected.csv",
         "Measure,Quarter,Value,Unit,Owner\npeople_trained,2024-04,91,count,Community Safety Team\n"
         "interventions_delivered,2024-04,51,,Community Safety Team\n")  # whole, or it would be held (docs/bad-inputs.md)
    land(ws, SOURCES["partnership_activity"])
    with ws.connect(read_only=True) as con:
        rows = con.execute("SELECT measure, value, owner FROM raw.partnership_activity ORDER BY measure").fetchall()
    assert rows == [
        ("campaign_reach", 2650.0, "Communications Team"),
        ("hate_training_better_understanding", 74.5, "Hate Crime Partnership"),
        ("interventions_delivered", 51.0, "Community Safety Team"),
        ("people_trained", 91.0, "Community Safety Team"),  # the corrected return replaced the team's quarter
    ]


def test_activity_suite_fails_a_percentage_over_100_and_warns_without_its_base(tmp_path):
    ws = make_workspace(tmp_path)
    drop(ws, "partnership_activity", "2024-25-Q1.csv", ACTIVITY.replace("74.5,%,51", "104,%,51") + "campaign_share,2024-04,12,%,,Communications Team\n")
    land(ws, SOURCES["partnership_activity"])
    with ws.connect() as con:
        set_run_variables(con, ws)
        outcome = run_suite(con, load_suite(EXPECTATIONS_DIR / "raw.partnership_activity.json"))
    failed = {o.column: (o.severity, o.examples) for o in outcome.outcomes if not o.success}
    assert set(failed) == {"percent_over_100", "percent_without_denominator"}
    assert failed["percent_over_100"] == ("error", ["raw/partnership_activity/2024-25-Q1.csv line 4: hate_training_better_understanding 104.0%"])
    assert failed["percent_without_denominator"][0] == "warn"
