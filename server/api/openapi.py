"""The OpenAPI document, with the experiment schema that the JSON-bodied routes take."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from ..engine.schema import DatasetSpec, Experiment
from .models import SPIRAL_EXAMPLE


def json_request(schema: str, example: Any) -> dict:
    """`openapi_extra` for a route that reads its JSON body itself."""
    return {
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {
                    "schema": {"$ref": f"#/components/schemas/{schema}"},
                    "example": example,
                }
            },
        }
    }


EXPERIMENT_BODY = json_request("Experiment", SPIRAL_EXAMPLE)
DATASET_BODY = json_request("DatasetSpec", SPIRAL_EXAMPLE["dataset"])


def install_openapi(app: FastAPI) -> None:
    """Add `Experiment` and `DatasetSpec` (and what they use) to the components."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        doc = get_openapi(
            title=app.title,
            version=app.version,
            description=app.description,
            routes=app.routes,
        )
        schemas = doc.setdefault("components", {}).setdefault("schemas", {})
        for model in (Experiment, DatasetSpec):
            schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
            schemas.update(schema.pop("$defs", {}))
            schemas[model.__name__] = schema
        app.openapi_schema = doc
        return doc

    app.openapi = openapi  # type: ignore[method-assign]
