"""The demo scrutiny committee's questions: the seven the Safer Croydon Partnership's committee sent (March 2016,
../shared/reference-cases.md), each with the indicators, sources and marts that bear on it. Appended to the
demo's partnership.yaml (`csp demo`); the scrutiny pack renders one section per question.
"""

DEMO_SCRUTINY = """\
scrutiny:
  committee: Communities Scrutiny Committee (synthetic)
  headline: [total_crime, police_asb_incidents, violence_against_the_person, domestic_burglary, knife_crime,
             domestic_abuse_crimes, hate_crimes, proven_reoffending_rate, road_ksi_casualties]
  questions:
    - id: partner-resources
      question: Is the pressure on resources within partner organisations undermining the partnership?
      indicators: [activity_interventions_delivered, activity_people_trained, activity_young_people_engaged]
      sources: [police_crimes, council_asb, council_environment, fire_incidents, probation_iom, health_treatment,
                health_ambulance, marac, prevent, partnership_activity]
      marts: [mart_submissions]
    - id: fit-for-purpose
      question: Is the partnership fit for purpose against that backdrop?
      indicators: [total_crime, police_asb_incidents, council_asb_cases]
      marts: [strategy_review]
    - id: strategy-influence
      question: Is there evidence that the community safety strategy is influencing decisions at individual agencies' governing bodies?
      indicators: [treatment_successful_completions, deliberate_fires, fly_tipping, road_ksi_casualties]
      marts: [strategy_review]
    - id: prevent
      question: What Prevent work does the partnership do, and how is it implementing the Government's Prevent strategy?
      indicators: [prevent_referrals, channel_cases, hate_crimes, activity_community_tension_reports, activity_campaign_reach]
      sources: [prevent, hate_incidents]
    - id: probation-repeat-offenders
      question: How is the restructured probation service able to support repeat offenders?
      indicators: [repeat_offender_crime_share, proven_reoffending_rate, reoffences_per_reoffender, iom_offences_per_individual,
                   iom_treatment_retained]
      sources: [probation_iom, probation_reoffending, police_crimes]
    - id: courts-repeat-offenders
      question: What is the role of the courts and the criminal justice system with regard to repeat offenders?
      indicators: [court_outcome_share, repeat_offender_crime_share, proven_reoffending_rate]
      sources: [police_crimes, probation_reoffending]
    - id: road-safety
      question: An update on speeding cars and injuries on the roads.
      indicators: [road_ksi_casualties, road_casualties, speed_related_collisions, pedestrian_cyclist_ksi]
      sources: [road_collisions, road_casualties]
"""
