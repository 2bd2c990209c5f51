"""Import files as soon as they are dropped."""

from dagster import DefaultSensorStatus, RunRequest, SensorEvaluationContext, SkipReason, sensor

from assets.imports.drop_folder import dropped_files
from resources import settings


@sensor(minimum_interval_seconds=60, default_status=DefaultSensorStatus.RUNNING, job_name="import_dropped_files")
def drop_folder(context: SensorEvaluationContext):
    # The cursor remembers what was seen (path, size, mtime); a changed file is requested again
    # and the import itself decides by content whether anything is new.
    seen = set(filter(None, (context.cursor or "").split("\n")))
    current = {f"{f}|{f.stat().st_size}|{f.stat().st_mtime_ns}" for f, _ in dropped_files(settings.drop_dir())}
    new = sorted(current - seen)
    if not new:
        return SkipReason(f"no new files in {settings.drop_dir()}")
    context.update_cursor("\n".join(sorted(current)))
    return RunRequest(run_key=new[-1])
