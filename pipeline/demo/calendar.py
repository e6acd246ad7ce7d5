"""The demo partnership's calendar for 2023/24: quarterly scrutiny committees, two board meetings, the strategic
assessment on 30 June and (from the demo strategy, 2022/23 to 2024/25) the mid-term review on 1 October 2023.
A year inside the demo's data, so every scheduled document has its period's figures. Inserted into the demo's
partnership.yaml under its partnership (`csp demo`)."""

DEMO_CALENDAR = """
    calendar:      # when the documents are due (docs/configuration.md); a meeting is one more line
      pack_days_before: 10
      assessment_date: "06-30"
      committee:
        - 2023-06-20
        - 2023-09-19
        - 2023-12-12
        - 2024-03-12
      board:
        - 2023-07-11
        - 2024-01-23"""
