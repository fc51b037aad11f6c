"""Address → coordinates with a configured geopy geocoder.

Off by default: fieldroute makes no network calls it was not asked to make.
``FIELDROUTE_GEOCODER`` names a geopy service (``nominatim``, ``arcgis``, …)
or a ``module:Class`` implementing geopy's ``geocode(query)`` interface (a
company's own address server, or a local fake in tests);
``FIELDROUTE_GEOCODER_OPTIONS`` (JSON) is passed to its constructor.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any, Protocol

from geopy.exc import GeopyError

from crm.errors import DomainError, InvalidInput


class Geocoder(Protocol):
    def geocode(self, query: str, **kwargs: Any) -> Any: ...


class GeocoderUnavailable(DomainError):
    status = 503
    code = "geocoder_unavailable"


@dataclass(frozen=True)
class Coordinates:
    lat: float
    lon: float


def make_geocoder(name: str | None, options: dict[str, Any] | None = None) -> Geocoder | None:
    """The configured geocoder, or None when geocoding is disabled."""
    if not name:
        return None
    options = dict(options or {})
    if ":" in name:
        module, _, cls = name.partition(":")
        return getattr(importlib.import_module(module), cls)(**options)
    from geopy.geocoders import get_geocoder_for_service

    factory = get_geocoder_for_service(name)
    if name == "nominatim":
        options.setdefault("user_agent", "fieldroute")
    return factory(**options)


def geocode(geocoder: Geocoder | None, address: str) -> Coordinates:
    """Coordinates of an address, or a 422 saying why there are none."""
    if geocoder is None:
        raise InvalidInput(
            "coordinates required (geocoding is disabled)",
            [{"loc": ["body", "lat"], "msg": "coordinates required (geocoding is disabled)"}],
        )
    if not address.strip():
        raise InvalidInput(
            "give coordinates or an address to geocode",
            [{"loc": ["body", "address"], "msg": "empty address"}],
        )
    try:
        found = geocoder.geocode(address)
    except GeopyError as exc:
        raise GeocoderUnavailable(f"the geocoder failed: {exc}") from exc
    if found is None:
        raise InvalidInput(
            f"the address {address!r} could not be geocoded; give lat and lon",
            [{"loc": ["body", "address"], "msg": "address not found"}],
        )
    return Coordinates(lat=float(found.latitude), lon=float(found.longitude))
