"""Where digest writes beside the project: every default `var/` folder, resolved here once.

`config.project_root` is the folder above the config file when that sits in `config/`, else
the config file's own folder (DESIGN: `preview --out`).
"""

from __future__ import annotations

from pathlib import Path

from .config import Config


def var_folder(config: Config) -> Path:
    return config.project_root / "var"


def preview_folder(config: Config, out_dir: Path | None = None) -> Path:
    """--out, else var/preview."""
    return out_dir if out_dir is not None else var_folder(config) / "preview"


def archive_folder(config: Config, out_dir: Path | None = None) -> Path:
    """--out, else `archive.folder`, else var/archive."""
    if out_dir is not None:
        return out_dir
    if config.archive and config.archive.folder:
        return config.archive.folder
    return var_folder(config) / "archive"
