-- Each partnership and the local authorities it covers: how rows that name only a local authority (MoJ
-- reoffending, NDTMS treatment) find their partnership. `partnerships_in_workspace` lets the facts of sources
-- that carry no area at all (MARAC, IDVA, IOM, Prevent) belong to the workspace's only partnership.
SELECT DISTINCT
    partnership_id,
    partnership_name,
    lad_code,
    count(DISTINCT partnership_id) OVER () AS partnerships_in_workspace
FROM reference.geography
