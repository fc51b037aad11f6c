"""CSV import and export: all rows or none, with a per-row report."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

from crm.models import Role
from tests import factories as f

GOOD = """name,phone,licence_no,tier,notes
Alpha Clinic,138 0000 0001,,A,
Beta Hotel,+86 138 0000 0002,91310000MA1FL0XQ2K,B,VIP lobby
"""


def _post(client: TestClient, h: dict[str, str], kind: str, text: str):
    return client.post(
        f"/imports/{kind}", files={"file": (f"{kind}.csv", text, "text/csv")}, headers=h
    )


def test_good_file_imports_every_row(client: TestClient, engine: Engine) -> None:
    """A clean file creates every row and the export reads them back."""
    h = f.headers_for(client, engine, Role.dispatcher)
    r = _post(client, h, "customers", GOOD)
    assert r.status_code == 200 and r.json()["created"] == 2
    exported = client.get("/exports/customers", headers=h)
    assert exported.headers["content-type"].startswith("text/csv")
    assert "+8613800000002" in exported.text and "Beta Hotel" in exported.text


def test_one_bad_row_imports_nothing(client: TestClient, engine: Engine) -> None:
    """A bad phone on one line and a duplicate on another: 422 naming both rows, zero rows
    stored."""
    h = f.headers_for(client, engine, Role.dispatcher)
    text = GOOD + "Gamma,not a phone,,C,\nDelta,13800000001,,B,\n"
    r = _post(client, h, "customers", text)
    assert r.status_code == 422
    rows = {e["row"] for e in r.json()["errors"]}
    assert rows == {4, 5}
    assert client.get("/customers", headers=h).json()["count"] == 0


def test_sites_engineers_and_tickets(client: TestClient, engine: Engine) -> None:
    """Every kind imports, with skills, windows and access hours parsed from their cells."""
    h = f.headers_for(client, engine, Role.dispatcher)
    f.skill(client, h, "hvac")
    c = f.customer(client, h)
    sites = (
        "customer_id,name,address,lat,lon,access_start,access_end\n"
        f"{c['id']},HQ,1 Rd,31.2,121.4,08:00,18:30\n"
    )
    assert _post(client, h, "sites", sites).status_code == 200
    site = client.get("/sites", headers=h).json()["data"][0]
    assert (site["access_start_min"], site["access_end_min"]) == (480, 1110)
    engineers = "name,phone,home_lat,home_lon,skills\nLi Na,13900000003,31.1,121.3,hvac:4\n"
    assert _post(client, h, "engineers", engineers).status_code == 200
    tickets = (
        "customer_id,site_id,title,duration_min,priority,required_skills,windows,sla_due_at\n"
        f"{c['id']},{site['id']},AC broken,90,urgent,hvac:2,"
        f"{f.at(9)}/{f.at(11)};{f.at(14)}/{f.at(16)},{f.at(18)}\n"
    )
    r = _post(client, h, "tickets", tickets)
    assert r.status_code == 200, r.text
    t = client.get("/tickets", headers=h).json()["data"][0]
    assert len(t["windows"]) == 2 and t["required_skills"] == [{"code": "hvac", "min_level": 2}]
    csv_out = client.get("/exports/tickets", headers=h).text
    assert "hvac:2" in csv_out


def test_missing_columns_and_empty_files(client: TestClient, engine: Engine) -> None:
    """A header without required columns, or an empty file, is a clear 422."""
    h = f.headers_for(client, engine, Role.dispatcher)
    r = _post(client, h, "sites", "name\nx\n")
    assert r.status_code == 422 and "customer_id" in r.json()["errors"][0]["field"]
    assert _post(client, h, "customers", "").status_code == 422
    assert client.post("/imports/planets", content=b"x", headers=h).status_code == 422
