"""What every console route module needs: the viewer dependency and the settings."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from services.console.session import Viewer, viewer
from services.settings import Settings

Seen = Annotated[Viewer, Depends(viewer)]


def settings_of(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings
