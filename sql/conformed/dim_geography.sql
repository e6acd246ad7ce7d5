-- Partnership → ward → LSOA, with residents and households and the year they describe.
-- An LSOA can belong to two partnerships (a county and its district), so join on both keys.
SELECT
    partnership_id,
    partnership_name,
    lsoa_code,
    lsoa_name,
    ward_code,
    ward_name,
    residents,
    households,
    population_year,
    lsoa_vintage
FROM reference.geography
