"""Write paths of the system of record: keyword-only service functions that
the API, the CLI and the importers all call, so a rule lives in one place."""
