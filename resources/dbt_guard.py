"""`burry-dbt`: dbt that dies with the process that started it.

dagster-dbt starts `dbt build` with subprocess.Popen and no way to pass a `preexec_fn`. When the
run worker is killed (SIGKILL, OOM), a plain dbt would keep running and writing marts for a run
that is already dead. So the dbt executable Burry hands dagster-dbt (resources/dbt.py) is this
console script: it asks Linux to send it SIGTERM when its parent dies (`prctl(PR_SET_PDEATHSIG)`),
which survives `execve`, then replaces itself with the real `dbt` beside this interpreter. Same
arguments, same stdin/stdout/stderr (dagster-dbt's streaming of dbt's JSON log lines is
untouched), same exit status, same pid.

The parent may die before the prctl call: then the process has already been re-parented, and
BURRY_DBT_PARENT_PID (set by BurryDbtResource for the process it starts) tells; it exits as if
the signal had come. Elsewhere than Linux, dbt runs unguarded.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from resources import settings
from resources.processes import die_with_parent


def real_dbt() -> str:
    return str(Path(sys.executable).parent / "dbt")


def main() -> None:
    die_with_parent(settings.dbt_parent_pid())
    dbt = real_dbt()
    os.execv(dbt, [dbt, *sys.argv[1:]])


if __name__ == "__main__":
    main()
