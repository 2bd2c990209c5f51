"""The roof: Burry's Dagster code location (definitions, jobs, schedules), refresh runs and the CLI."""

import warnings

# platformdirs (through Dagster) warns on every call when XDG_RUNTIME_DIR is unset (root shells,
# CI); harmless. Every entry point (CLI, code location, notebooks, tests) imports this package.
warnings.filterwarnings("ignore", message="XDG_RUNTIME_DIR is not set")
