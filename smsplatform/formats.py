from datetime import datetime, timezone


def iso_date(moment: datetime) -> str:
    """LeanCloud's date text: UTC, milliseconds, `Z`, e.g. 2024-01-02T03:04:05.678Z."""
    utc = moment.astimezone(timezone.utc)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"
