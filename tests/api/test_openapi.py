"""The OpenAPI document is complete: every operation described, every JSON body
with an example, and every example valid against its own schema."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from typing import Any

import pytest
from pydantic import BaseModel

import api.routers
import crm.schemas
from api.app import create_app
from crm.settings import Settings

FORMS = ("application/x-www-form-urlencoded", "multipart/form-data")


@pytest.fixture(scope="module")
def spec(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    tmp = tmp_path_factory.mktemp("openapi")
    app = create_app(
        Settings(database_url=f"sqlite:///{tmp}/x.db", var_dir=tmp), verify_schema=False
    )
    return app.openapi()


def _operations(spec: dict[str, Any]):
    for path, item in spec["paths"].items():
        for method, op in item.items():
            yield method.upper(), path, op


def _has_example(spec: dict[str, Any], schema: dict[str, Any], media: dict[str, Any]) -> bool:
    if "example" in media or "examples" in media:
        return True
    for option in schema.get("anyOf", []):  # an optional body
        if "$ref" in option and _has_example(spec, option, {}):
            return True
    ref = schema.get("$ref")
    if ref:
        schema = spec["components"]["schemas"][ref.rsplit("/", 1)[-1]]
    if "examples" in schema or "example" in schema:
        return True
    return any("examples" in p or "example" in p for p in schema.get("properties", {}).values())


def test_every_operation_is_described(spec: dict[str, Any]) -> None:
    """Each operation has a description (its handler's docstring) for the docs page."""
    missing = [(m, p) for m, p, op in _operations(spec) if not op.get("description")]
    assert not missing, missing


def test_every_json_body_has_an_example(spec: dict[str, Any]) -> None:
    """Each JSON request body shows an example in the docs."""
    missing = []
    for method, path, op in _operations(spec):
        for media_type, media in op.get("requestBody", {}).get("content", {}).items():
            if media_type in FORMS:
                continue
            if not _has_example(spec, media.get("schema", {}), media):
                missing.append((method, path))
    assert not missing, missing


def _models() -> list[type[BaseModel]]:
    found: dict[str, type[BaseModel]] = {}
    for package in (crm.schemas, api.routers):
        for info in pkgutil.iter_modules(package.__path__, package.__name__ + "."):
            module = importlib.import_module(info.name)
            for _, obj in inspect.getmembers(module, inspect.isclass):
                if issubclass(obj, BaseModel) and obj.__module__ == module.__name__:
                    found[f"{obj.__module__}.{obj.__name__}"] = obj
    return list(found.values())


def test_model_examples_are_valid() -> None:
    """A schema's own example passes its validation: the docs never show a request
    that would be answered with 422."""
    checked = 0
    for model in _models():
        extra = model.model_config.get("json_schema_extra")
        examples = extra.get("examples", []) if isinstance(extra, dict) else []
        for example in examples:
            model.model_validate(example)
            checked += 1
    assert checked >= 10
