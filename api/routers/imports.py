"""CSV import and export."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, File, Request, UploadFile
from fastapi.responses import PlainTextResponse
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from api.deps import LateGateSessionDep, Staff, actor_of, get_engine
from api.problems import problem
from crm.csvio import export_rows, import_rows

router = APIRouter(tags=["imports"])
Kind = Literal["customers", "sites", "engineers", "tickets"]
MAX_BYTES = 50 * 1024 * 1024


class ImportResult(BaseModel):
    kind: str
    rows: int
    created: int


@router.post(
    "/imports/{kind}",
    response_model=ImportResult,
    responses={422: {"description": "Per-row problems; nothing was imported."}},
)
async def import_csv(
    kind: Kind,
    request: Request,
    user: Staff,
    session: LateGateSessionDep,
    file: Annotated[UploadFile | None, File(description="CSV with a header row.")] = None,
) -> object:
    """Import a CSV file (multipart `file` or a `text/csv` body); all rows or none."""
    if file is not None:
        content = await file.read(MAX_BYTES + 1)
    else:
        content = await request.body()
    if len(content) > MAX_BYTES:
        return problem(413, f"the file is larger than {MAX_BYTES // (1024 * 1024)} MB")
    if not content.strip():
        return problem(422, "the file is empty", code="validation_error", errors=[])
    report = await run_in_threadpool(import_rows, session, kind, content, actor=actor_of(user))
    if report.errors:
        return problem(
            422,
            f"{len(report.errors)} problem(s) in the file; nothing was imported",
            code="import_rejected",
            instance=request.url.path,
            errors=[{"row": e.row, "field": e.field, "msg": e.message} for e in report.errors],
        )
    return ImportResult(kind=kind, rows=report.rows, created=report.created)


@router.get("/exports/{kind}", response_class=PlainTextResponse)
def export_csv(kind: Kind, request: Request, _: Staff) -> PlainTextResponse:
    """Export records as CSV, in the columns the importer reads."""
    text = export_rows(get_engine(request), kind)
    return PlainTextResponse(
        text,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{kind}.csv"'},
    )
