"""Where digest keeps its files by default: the config file and every `var/` path, resolved
here once.

The project folder is the folder above the config file when that sits in a folder named
`config/` (as the shipped `config/digest.yaml` does), else the config file's own folder;
`var/` goes there: the state, the outbox, the preview, the archive.
"""

from __future__ import annotations

import os
from pathlib import Path

DEFAULT_CONFIG = Path("config/digest.yaml")  # --config, from the project folder


def project_folder(config_folder: Path) -> Path:
    return config_folder.parent if config_folder.name == "config" else config_folder


def var_folder(config_folder: Path) -> Path:
    return Path(os.path.normpath(project_folder(config_folder) / "var"))


def default_state(config_folder: Path) -> Path:
    return var_folder(config_folder) / "digest.sqlite3"


def default_outbox(config_folder: Path) -> Path:
    return var_folder(config_folder) / "outbox"


def preview_folder(config_folder: Path, out_dir: Path | None = None) -> Path:
    """--out, else var/preview."""
    return out_dir if out_dir is not None else var_folder(config_folder) / "preview"


def archive_folder(
    config_folder: Path, configured: Path | None, out_dir: Path | None = None
) -> Path:
    """--out, else `archive.folder` (`configured`), else var/archive."""
    if out_dir is not None:
        return out_dir
    return configured if configured is not None else var_folder(config_folder) / "archive"
