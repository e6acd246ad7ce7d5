"""The one resource every asset uses: the workspace it builds (configuration, warehouse, outputs)."""


import os

import dagster as dg

from pipeline.workspace import WORKSPACE_ENV, Workspace


class WorkspaceResource(dg.ConfigurableResource):
    """Names the workspace folder; `csp run` passes it directly, the UI reads it from CSP_WORKSPACE at run time.
    A scheduled publication also names its partnership and the month its period is complete by (run_config_for)."""

    root: str
    partnership: str | None = None
    period_end: str | None = None

    def get(self) -> Workspace:
        return Workspace.at(self.root, self.partnership, self.period_end)


def default_resources() -> dict:
    return {"workspace": WorkspaceResource(root=dg.EnvVar(WORKSPACE_ENV))}


def run_config_for(partnership: str, period_end: str) -> dict:
    """The run config of a run the daemon launches for one partnership and period: the workspace is still the
    UI's (CSP_WORKSPACE), read when the run starts."""
    return {"resources": {"workspace": {"config": {"root": {"env": WORKSPACE_ENV}, "partnership": partnership,
                                                   "period_end": period_end}}}}


def ui_workspace() -> Workspace:
    """The workspace the UI and daemon were started over (`csp dev` sets CSP_WORKSPACE): what schedules and
    sensors read at each tick, as cheap as reading an environment variable."""
    root = os.environ.get(WORKSPACE_ENV)
    if not root:
        raise RuntimeError(f"{WORKSPACE_ENV} is not set: start the UI and daemon with `csp dev --workspace DIR`")
    return Workspace.at(root)
