"""Registries, checking, previews, the page and the OpenAPI document."""

from __future__ import annotations

from live_server import Live, spiral

from server.config import asset_dir


def test_layers_and_datasets(live: Live):
    layers = live.http.get("/api/layers").json()
    assert {"dense", "conv2d", "lstm"} <= {layer["type"] for layer in layers}
    datasets = live.http.get("/api/datasets").json()
    assert {"spiral", "digits"} <= {d["name"] for d in datasets}


def test_training_schema_carries_the_server_limits(live: Live):
    training = live.http.get("/api/training").json()
    props = training["params"]["properties"]
    assert props["optimizer"]["enum"] == ["sgd", "adam", "adamw", "rmsprop"]
    assert props["epochs"]["maximum"] == live.settings.max_epochs
    assert training["defaults"]["learning_rate"] == 0.03


def test_check_gives_shapes_and_params(live: Live):
    result = live.http.post("/api/check", json=spiral()).json()
    assert [layer["output_shape"] for layer in result["layers"]] == [[8], [8]]
    assert (
        result["total_params"]
        == sum(x["params"] for x in result["layers"]) + result["head"]["params"]
    )


def test_dataset_preview(live: Live):
    response = live.http.post("/api/datasets/preview", json={"name": "spiral", "samples": 100})
    assert response.status_code == 200 and response.json()


def test_openapi_documents_the_protocol(live: Live):
    doc = live.http.get("/openapi.json").json()
    for path in ("/api/runs", "/api/runs/{run_id}", "/api/runs/{run_id}/control", "/api/check"):
        assert path in doc["paths"]
    assert "Experiment" in doc["components"]["schemas"]
    body = doc["paths"]["/api/runs"]["post"]["requestBody"]["content"]["application/json"]
    assert body["schema"]["$ref"] == "#/components/schemas/Experiment"
    assert live.http.get("/docs").status_code == 200


def test_page_and_static_files(live: Live):
    page = live.http.get("/")
    if (asset_dir("templates") / "index.html").is_file():
        assert page.status_code == 200 and "text/html" in page.headers["content-type"]
    else:
        assert page.status_code == 503
    static = sorted(p for p in asset_dir("static").rglob("*") if p.is_file())
    if static:
        path = static[0].relative_to(asset_dir("static")).as_posix()
        assert live.http.get(f"/static/{path}").status_code == 200
