"""The demo partnership's strategy, modelled on the Safer Sutton Partnership's 2021-24 community safety strategy
(six priorities; see ../shared/reference-cases.md): every measure the demo's sources can feed, with Sutton's
targets where it states one (repeat victims at MARAC 25.3%, MARAC referrals 209, non-police referrals 52.2%,
IOM offences per individual 1.4 and 1.2, IOM treatment retention 44%) and a % change on the baseline year
elsewhere. Appended to the demo's partnership.yaml (`csp demo`); its years fit the demo's period (2020/21 to 2024/25).
"""

DEMO_STRATEGY = """\
strategy:
  name: Calderdale Community Safety Strategy 2022-25 (synthetic, modelled on Sutton's 2021-24)
  start: "2022/23"
  end: "2024/25"
  baseline: "2021/22"
  priorities:
    - id: crime
      name: Safe from crime and its consequences
      actions:
        - Run a monthly partnership tasking meeting on the places and people behind most crime
        - Keep the IOM cohort under joint police and probation management, with a treatment pathway for every member who needs one
      measures:
        - {indicator: total_crime, target: {change: -5}, owner: Police}
        - {indicator: police_asb_incidents, label: ASB reported to the police, target: {change: -10}, owner: Police}
        - {indicator: iom_offences_per_individual, target: {value: 1.4}, owner: Probation}
        - {indicator: iom_property_offences_per_individual, target: {value: 1.2}, owner: Probation}
        - {indicator: iom_treatment_retained, target: {share: 44}, owner: Probation}
        - {indicator: activity_interventions_delivered, target: {change: 5}, owner: Community Safety Team}
    - id: streets
      name: Safe on our streets and in our neighbourhoods
      actions:
        - Target residential burglary and vehicle crime hotspots with patrols and crime-prevention visits
        - Clear fly-tipping within five working days and prosecute repeat tippers
      measures:
        - {indicator: domestic_burglary, target: {change: -10}, owner: Police}
        - {indicator: theft_of_motor_vehicle, target: {change: -5}, owner: Police}
        - {indicator: theft_from_motor_vehicle, target: {change: -5}, owner: Police}
        - {indicator: council_asb_cases, target: {change: -5}, owner: Council}
        - {indicator: fly_tipping, target: {change: -10}, owner: Council}
        - {indicator: deliberate_fires, target: {change: -10}, owner: Fire and rescue}
        - {indicator: road_ksi_casualties, label: People killed or seriously injured on the roads, target: {change: -10}, owner: Highways}
        - {indicator: activity_young_people_engaged, target: {change: 5}, owner: Youth Service}
    - id: harm
      name: Safe from harm and exploitation
      actions:
        - Refer every young person found exploited to the outreach and diversion service
        - Offer treatment to everyone leaving custody with a substance misuse need
      measures:
        - {indicator: treatment_retained_12_weeks, target: {share: 75}, owner: Public health}
        - {indicator: treatment_successful_completions, target: {change: 5}, owner: Public health}
        - {indicator: ambulance_overdose_callouts, target: {change: -10}, owner: Public health}
        - {indicator: activity_womens_hub_clients, target: {change: 5}, owner: Women's Centre}
    - id: domestic_abuse
      name: Safe from domestic violence and abuse
      actions:
        - Train frontline staff in every agency to recognise and refer domestic abuse
        - Raise non-police referrals to MARAC through the women's hub and health services
      measures:
        - {indicator: domestic_abuse_crimes, label: Domestic abuse offences reported (more reporting is the aim), target: {change: 5}, owner: Police}
        - {indicator: marac_repeat_share, label: Repeat victims at MARAC (SafeLives definition), target: {share: 25.3}, direction: higher, owner: MARAC chair}
        - {indicator: marac_cases, label: MARAC referrals, target: {value: 209}, owner: MARAC chair}
        - {indicator: marac_non_police_share, label: Non-police referrals to MARAC, target: {share: 52.2}, owner: MARAC chair}
        - {indicator: idva_referrals, target: {change: 5}, owner: IDVA service}
        - {indicator: activity_recovery_programme_victims, target: {change: 5}, owner: Domestic Abuse Service}
    - id: serious_violence
      name: Safe from serious violence
      actions:
        - Deliver the Serious Violence Duty response strategy with health, education and youth justice
        - Share A&E assault data (ISTV) monthly to direct patrols in the night-time economy
      measures:
        - {indicator: sexual_offences, target: {change: -5}, direction: lower, owner: Police}
        - {indicator: knife_crime, target: {change: -10}, owner: Police}
        - {indicator: firearm_crime, label: Gun crime, target: {change: -10}, owner: Police}
        - {indicator: non_domestic_violence_with_injury, target: {change: -5}, owner: Police}
        - {indicator: ae_assault_attendances, target: {change: -10}, owner: NHS (ISTV)}
        - {indicator: ambulance_assault_callouts, target: {change: -10}, owner: Ambulance service}
    - id: hate
      name: Safe from extremism, hate and racism
      actions:
        - Keep third-party hate reporting centres open and publicised
        - Deliver Prevent awareness training to schools, colleges and the council's frontline staff
      measures:
        - {indicator: hate_incidents, label: "Hate incidents reported to the police, the council and third parties", target: {change: 5}, owner: Council}
        - {indicator: prevent_referrals, target: {change: 10}, direction: higher, owner: Council (Prevent lead)}
        - {indicator: feel_safe_after_dark, target: {share: 40}, owner: Council}
        - {indicator: hate_training_better_understanding, target: {share: 70}, owner: Hate Crime Partnership}
        - {indicator: activity_campaign_reach, target: {value: 10000}, owner: Communications Team}
        - {indicator: activity_community_tension_reports, target: {value: 30}, owner: Cohesion Team}
"""
