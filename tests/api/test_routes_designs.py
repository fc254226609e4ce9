"""Saved designs over REST: save, list, open, rename, duplicate, delete, download and upload
again, runs of a design; owners by X-Owner-Token; bad input named."""

from __future__ import annotations

import secrets

from live_server import Live, spiral


def owner() -> dict:
    return {"X-Owner-Token": secrets.token_urlsafe(24)}


def test_a_design_is_saved_listed_renamed_duplicated_and_deleted(live: Live):
    me, other = owner(), owner()
    doc = spiral(epochs=5)
    saved = live.http.post(
        "/api/designs", json={"name": "Spiral", "note": "two arms", "experiment": doc}, headers=me
    )
    assert saved.status_code == 201, saved.text
    design = saved.json()
    assert design["mine"] and design["name"] == "Spiral" and design["note"] == "two arms"
    assert design["experiment"]["model"] == doc["model"]
    assert design["experiment"]["training"]["epochs"] == 5

    listed = live.http.get("/api/designs", headers=me)
    assert [d["id"] for d in listed.json()] == [design["id"]]
    assert listed.headers["X-Total-Count"] == "1"
    assert live.http.get("/api/designs", headers=other).json() == []

    opened = live.http.get(f"/api/designs/{design['id']}", headers=other).json()
    assert opened["name"] == "Spiral" and not opened["mine"]  # anyone with the id may open it

    renamed = live.http.patch(f"/api/designs/{design['id']}", json={"name": "Arms"}, headers=me)
    assert renamed.status_code == 200 and renamed.json()["name"] == "Arms"
    assert renamed.json()["note"] == "two arms"
    refused = live.http.patch(f"/api/designs/{design['id']}", json={"name": "x"}, headers=other)
    assert refused.status_code == 403
    assert live.http.delete(f"/api/designs/{design['id']}", headers=other).status_code == 403

    copy = live.http.post(f"/api/designs/{design['id']}/duplicate", headers=other)
    assert copy.status_code == 201 and copy.json()["name"] == "Arms (copy)"
    assert copy.json()["mine"] and copy.json()["id"] != design["id"]

    assert live.http.delete(f"/api/designs/{design['id']}", headers=me).status_code == 204
    assert live.http.get(f"/api/designs/{design['id']}").status_code == 404
    assert live.http.get(f"/api/designs/{copy.json()['id']}").status_code == 200


def test_bad_designs_are_refused_naming_the_field(live: Live):
    me = owner()
    doc = spiral()
    doc["model"]["layers"][1]["units"] = -3
    bad = live.http.post("/api/designs", json={"name": "x", "experiment": doc}, headers=me)
    assert bad.status_code == 422
    assert bad.json()["detail"][0]["loc"] == ["body", "experiment", "model", "layers", 1, "units"]
    unnamed = live.http.post("/api/designs", json={"name": "", "experiment": spiral()}, headers=me)
    assert unnamed.status_code == 422 and unnamed.json()["detail"][0]["loc"] == ["body", "name"]
    anonymous = live.http.post("/api/designs", json={"name": "x", "experiment": spiral()})
    assert anonymous.status_code == 422
    assert anonymous.json()["detail"][0]["loc"] == ["header", "X-Owner-Token"]
    saved = live.http.post("/api/designs", json={"name": "x", "experiment": spiral()}, headers=me)
    patch = live.http.patch(
        f"/api/designs/{saved.json()['id']}", json={"experiment": doc}, headers=me
    )
    assert patch.status_code == 422 and patch.json()["detail"][0]["loc"][:2] == [
        "body",
        "experiment",
    ]
    assert live.http.post("/api/runs", params={"design": "nope"}, json=spiral()).status_code == 422


def test_a_design_file_downloads_and_uploads_again_and_lists_its_runs(live: Live):
    me = owner()
    body = {"name": "Spiral / small", "note": "for the file", "experiment": spiral(epochs=2)}
    design = live.http.post("/api/designs", json=body, headers=me).json()
    file = live.http.get(f"/api/designs/{design['id']}/file")
    assert file.status_code == 200
    assert 'filename="layerlab-Spiral-small.json"' in file.headers["content-disposition"]
    uploaded = live.http.post(
        "/api/designs", content=file.content, headers={**me, "content-type": "application/json"}
    )
    assert uploaded.status_code == 201
    assert uploaded.json()["experiment"] == design["experiment"]
    assert uploaded.json()["name"] == "Spiral / small"

    run = live.http.post(
        "/api/runs", params={"design": design["id"]}, json=design["experiment"], headers=me
    ).json()
    live.stream(run["id"]).read_to_end()
    of_design = live.http.get(design["runs"]).json()
    assert [r["id"] for r in of_design] == [run["id"]] and of_design[0]["design"] == design["id"]
    mine = live.http.get("/api/runs", params={"owner": "me"}, headers=me).json()
    assert [r["id"] for r in mine] == [run["id"]]
    assert live.http.get("/api/runs", params={"owner": "me"}).status_code == 422
