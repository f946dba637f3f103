"""OGC API – Features at /ogc: the Core and GeoJSON classes, scope, and GDAL's OAPIF driver reading it."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import threading

import pytest
from werkzeug.serving import make_server

OGR = shutil.which("ogrinfo")
OGR2OGR = shutil.which("ogr2ogr")


@pytest.fixture
def parcels(make_parcel):
    return [make_parcel(60 * i, 0)["id"] for i in range(5)]


def test_landing_conformance_and_collection(clerk, parcels):
    landing = clerk.get("/ogc").get_json()
    assert {link["rel"] for link in landing["links"]} >= {"self", "conformance", "data", "service-desc"}
    conf = clerk.get("/ogc/conformance").get_json()["conformsTo"]
    assert "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core" in conf
    assert "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson" in conf
    (collection,) = clerk.get("/ogc/collections").get_json()["collections"]
    assert collection["id"] == "parcels" and collection["itemType"] == "feature"
    minx, miny, maxx, maxy = collection["extent"]["spatial"]["bbox"][0]
    assert 123.9 < minx < maxx < 124.3 and 39.7 < miny < maxy < 40.1  # Donggang
    assert clerk.get("/ogc/collections/parcels").get_json()["id"] == "parcels"
    assert clerk.get("/ogc/collections/rivers").status_code == 404


def test_items_page_by_limit_and_next_links_and_bbox(clerk, parcels):
    r = clerk.get("/ogc/collections/parcels/items?limit=2")
    assert r.status_code == 200 and r.mimetype == "application/geo+json"
    seen, url = [], "/ogc/collections/parcels/items?limit=2"
    while url:
        page = clerk.get(url).get_json()
        assert page["type"] == "FeatureCollection" and page["numberReturned"] == len(page["features"]) <= 2
        seen += [f["id"] for f in page["features"]]
        nxt = [link["href"] for link in page["links"] if link["rel"] == "next"]
        url = nxt[0].split("localhost", 1)[1] if nxt else None
    assert seen == sorted(parcels)
    offset = clerk.get("/ogc/collections/parcels/items?limit=2&offset=3").get_json()
    assert [f["id"] for f in offset["features"]] == sorted(parcels)[3:5]
    first = clerk.get(f"/ogc/collections/parcels/items/{parcels[0]}").get_json()
    lon, lat = first["geometry"]["coordinates"][0][0][0]
    box = f"{lon - 0.0001},{lat - 0.0001},{lon + 0.0001},{lat + 0.0001}"
    near = clerk.get(f"/ogc/collections/parcels/items?bbox={box}").get_json()
    assert parcels[0] in [f["id"] for f in near["features"]] and len(near["features"]) < len(parcels)
    assert first["properties"]["area_m2"] == pytest.approx(2500, rel=0.01)


@pytest.mark.parametrize("query", ["limit=0", "limit=10001", "limit=ten", "bbox=1,2,3", "bbox=3,2,1,4",
                                   "bbox=a,b,c,d", "offset=-1", "colour=red", "cursor=abc", "f=html"])
def test_bad_parameters_are_400(clerk, parcels, query):
    r = clerk.get(f"/ogc/collections/parcels/items?{query}")
    assert r.status_code == 400 and r.get_json()["message"]


def test_scope_and_token_apply(callers, parcels):
    other = callers["other_clerk"]
    assert other.get("/ogc/collections/parcels/items").get_json()["features"] == []
    assert other.get(f"/ogc/collections/parcels/items/{parcels[0]}").status_code == 404
    assert callers["auditor"].get(f"/ogc/collections/parcels/items/{parcels[0]}").status_code == 200
    assert callers["clerk"].client.get("/ogc/collections").status_code == 401


@pytest.mark.skipif(OGR is None or OGR2OGR is None, reason="GDAL is not installed (.ci/run installs gdal-bin)")
def test_gdal_reads_the_parcels_through_oapif(app, clerk, parcels):
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"OAPIF:http://127.0.0.1:{server.server_port}/ogc"
        env = {**os.environ, "GDAL_HTTP_HEADERS": f"Authorization: Bearer {clerk.token}"}
        summary = subprocess.run([OGR, "-ro", "-so", url, "parcels"], env=env, capture_output=True, text=True,
                                 timeout=60)
        assert summary.returncode == 0, summary.stderr
        assert f"Feature Count: {len(parcels)}" in summary.stdout and "Multi Polygon" in summary.stdout
        out = subprocess.run([OGR2OGR, "-f", "GeoJSON", "/vsistdout/", url, "parcels"], env=env,
                             capture_output=True, text=True, timeout=60)
        assert out.returncode == 0, out.stderr
        features = json.loads(out.stdout)["features"]
        assert sorted(f["properties"]["code"] for f in features) == sorted(parcels)
        assert features[0]["geometry"]["type"] in ("Polygon", "MultiPolygon")
        denied = subprocess.run([OGR, "-ro", "-so", url], env={**os.environ, "GDAL_HTTP_HEADERS": ""},
                                capture_output=True, text=True, timeout=60)
        assert denied.returncode != 0
    finally:
        server.shutdown()
