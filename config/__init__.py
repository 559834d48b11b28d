"""Settings for each environment, each overridable by environment variables.

`load_settings(name)` returns a plain dict for `app.config.from_mapping`. The environment is
chosen by `CASEWORK_ENV` (development, the default; testing; production).
"""

from config.settings import load_settings

__all__ = ["load_settings"]
