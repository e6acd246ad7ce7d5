"""The one resource every asset uses: the workspace it builds (configuration, warehouse, outputs)."""


import dagster as dg

from pipeline.workspace import WORKSPACE_ENV, Workspace


class WorkspaceResource(dg.ConfigurableResource):
    """Names the workspace folder; `csp run` passes it directly, the UI reads it from CSP_WORKSPACE at run time."""

    root: str

    def get(self) -> Workspace:
        return Workspace.at(self.root)


def default_resources() -> dict:
    return {"workspace": WorkspaceResource(root=dg.EnvVar(WORKSPACE_ENV))}
