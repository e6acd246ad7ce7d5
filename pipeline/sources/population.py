"""ONS population estimates by LSOA: the denominators of every rate. Placeholder layout; see docs/sources.md."""

from pipeline.sources.base import Column, Source

SOURCE = Source(
    name="population",
    agency="reference",
    title="ONS population estimates by LSOA",
    period_column="period",
    file_suffixes=(".csv", ".xlsx"),
    period_grain="year",
    columns=(
        Column("lsoa_code", "lsoa", nullable=False, headings=("LSOA Code", "LSOA 2021 Code", "area_code")),
        Column("year", "integer", nullable=False, minimum=2001, maximum=2100),
        Column("persons", "integer", nullable=False, minimum=0, headings=("Total", "all_ages")),
        Column("females", "integer", required=False, minimum=0),
        Column("adult_females", "integer", required=False, minimum=0),
        Column("households", "integer", required=False, minimum=0, headings=("Households",)),
    ),
)
