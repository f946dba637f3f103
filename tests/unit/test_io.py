"""Reading and writing NY/T 2539 packages and plain parcel layers (gis/io.py).

Small fixtures are built here with geopandas/pyogrio; the real-shaped sample
package is tests/data/dk_package_sample.zip, as for the import API tests.
"""
from __future__ import annotations

import json
import tempfile
import zipfile
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pyproj
import pytest
import shapely

import gis.io
from gis.area import measure_m2
from gis.crs import from_storage, to_storage
from gis.errors import GeometryInputError, PackageError
from gis.io import read_package, write_package, write_parcels
from gis.package import DK_FIELDS, TABLE_FIELDS
from tests.packages import X0, Y0, boxes, codes, make_layer, small_package, write_tables, zip_folder

SAMPLE = Path(__file__).resolve().parents[1] / "data" / "dk_package_sample.zip"
#: South-west corner of the test parcels: Donggang, EPSG:4550 metres.


@pytest.fixture(autouse=True)
def scratch(tmp_path, monkeypatch):
    """Point tempfile at an empty folder, so each test can check nothing is left behind."""
    folder = tmp_path / "scratch"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    return folder


def assert_clean(scratch: Path) -> None:
    assert list(scratch.iterdir()) == []


def refused(scratch: Path, path, rule: str, reason: str, **kwargs) -> GeometryInputError:
    with pytest.raises(GeometryInputError) as caught:
        read_package(path, **kwargs)
    error = caught.value
    assert (error.rule, error.reason) == (rule, reason), error.message_en
    if rule == "PACKAGE_INVALID":
        assert isinstance(error, PackageError)
    assert error.message_zh and error.message_en
    json.dumps(error.details, allow_nan=False)
    assert_clean(scratch)
    return error


# --- the sample ----------------------------------------------------------------


@pytest.fixture(scope="module")
def sample():
    return read_package(SAMPLE)


def test_sample_package_is_read_with_its_tables_crs_and_codes_as_text(sample):
    p = sample
    assert len(p.parcels) == 3432
    assert {name: len(t) for name, t in p.tables.items()} == {
        "FBF": 10, "CBF": 639, "CBF_JTCY": 1951, "CBHT": 639, "CBDKXX": 3432}
    assert p.is_full and p.source_epsg == 4550 and p.layer == "DK.shp" and p.encoding == "UTF-8"
    assert p.notes == []
    assert p.parcels.crs.to_epsg() == 4490
    assert list(p.parcels.columns) == [*DK_FIELDS, "row", "geometry"]
    assert p.parcels["row"].tolist() == list(range(1, 3433))
    dkbm = p.parcels["DKBM"]
    assert dkbm.dtype == object and dkbm.iloc[72] == "2106811010010100073"
    assert all(isinstance(c, str) and len(c) == 19 for c in dkbm)
    assert p.parcels["TDLYLX"].iloc[0] == "013" and p.parcels["DLDJ"].iloc[0] == "01"
    assert p.parcels["DKBZXX"].iloc[0] is None and p.parcels["ZJRXM"].isna().all()  # ZJRXM is not in the sample
    assert p.parcels["SCMJ"].dtype == np.float64
    assert (p.parcels.geom_type == "MultiPolygon").all()
    assert p.tables["CBF"]["CBFBM"].iloc[0] == "210681101001010001"
    assert set(p.tables["CBF_JTCY"]["YHZGX"]) >= {"02", "10"}
    assert p.tables["CBDKXX"].loc[0, "DKBM"] == "2106811010010100073"
    for name, table in p.tables.items():
        assert list(table.columns) == list(TABLE_FIELDS[name])
        assert all(dtype == np.dtype(object) for dtype in table.dtypes)
    # The stored geometry measures what the survey declared (SCMJ, to the cent).
    assert np.abs(measure_m2(p.parcels.geometry.values) - p.parcels["SCMJ"].to_numpy()).max() < 0.01


def test_sample_multi_part_parcel_keeps_its_parts(sample):
    parts = shapely.get_num_geometries(sample.parcels.geometry.values)
    assert parts.max() >= 2


def test_chunked_read_reports_progress_and_gives_the_same_result(sample):
    calls = []
    chunked = read_package(SAMPLE, chunk_size=1000, progress=lambda done, total: calls.append((done, total)))
    assert calls == [(1000, 3432), (2000, 3432), (3000, 3432), (3432, 3432)]
    pd.testing.assert_frame_equal(chunked.parcels.drop(columns="geometry"), sample.parcels.drop(columns="geometry"))
    assert shapely.equals_exact(chunked.parcels.geometry.values, sample.parcels.geometry.values, 0).all()


@pytest.mark.parametrize("fmt", ["shp", "gpkg"])
def test_written_package_reads_back_the_same(sample, tmp_path, scratch, fmt):
    path = write_package(sample, tmp_path / f"out-{fmt}.zip", format=fmt)
    names = zipfile.ZipFile(path).namelist()
    if fmt == "shp":
        assert {"DK.shp", "DK.shx", "DK.dbf", "DK.prj", "DK.cpg", "CBF.csv", "CBDKXX.csv"} <= set(names)
        with zipfile.ZipFile(path) as z:
            assert z.read("DK.cpg").decode().strip() == "UTF-8"
            assert z.read("CBF.csv").startswith("\ufeffCBFBM,".encode())
    else:
        assert names == ["out-gpkg.gpkg"]
    back = read_package(path)
    assert back.source_epsg == 4550  # the zone of the data
    pd.testing.assert_frame_equal(back.parcels.drop(columns="geometry"), sample.parcels.drop(columns="geometry"))
    for name, table in sample.tables.items():
        pd.testing.assert_frame_equal(back.tables[name], table)
    difference = np.abs(measure_m2(back.parcels.geometry.values) - measure_m2(sample.parcels.geometry.values))
    assert difference.max() < 0.01
    assert_clean(scratch)


def test_package_is_written_in_the_zone_asked_for(sample, tmp_path):
    path = write_package(sample, tmp_path / "out.zip", crs_epsg=4529)
    back = read_package(path)
    assert back.source_epsg == 4529
    assert back.parcels["DKBM"].tolist() == sample.parcels["DKBM"].tolist()


# --- sources: folders, GeoPackage, GeoJSON ------------------------------------------


def test_folder_with_nested_package_is_read(tmp_path, scratch):
    folder = tmp_path / "upload"
    with zipfile.ZipFile(SAMPLE) as z:
        z.extractall(folder / "东港市" / "成果")
    p = read_package(folder)
    assert len(p.parcels) == 3432 and p.layer == "东港市/成果/DK.shp" and len(p.tables) == 5


def test_zip_with_nested_folders_and_mac_junk_is_read(tmp_path, scratch):
    folder = small_package(tmp_path)
    nested = tmp_path / "nested"
    (nested / "成果" / "矢量").mkdir(parents=True)
    for f in folder.iterdir():
        f.rename(nested / "成果" / "矢量" / f.name)
    (nested / "__MACOSX").mkdir()
    (nested / "__MACOSX" / "._DK.shp").write_bytes(b"\x00\x05\x16\x07")
    p = read_package(zip_folder(nested, tmp_path / "nested.zip"))
    assert p.layer == "成果/矢量/DK.shp" and p.parcels["DKBM"].tolist() == codes() and p.is_full
    assert_clean(scratch)


def test_geopackage_package_with_attribute_tables_is_read(sample, tmp_path, scratch):
    with zipfile.ZipFile(write_package(sample, tmp_path / "pkg.zip", format="gpkg")) as z:
        z.extractall(tmp_path / "x")
    p = read_package(tmp_path / "x" / "pkg.gpkg")
    assert p.layer == "pkg.gpkg:DK" and len(p.parcels) == 3432 and set(p.tables) == set(TABLE_FIELDS)
    assert p.tables["CBF_JTCY"]["YHZGX"].iloc[0] == "02"


def test_plain_geojson_layer_is_read_with_a_field_map(tmp_path, scratch):
    lonlat = from_storage(to_storage(np.array(boxes(), dtype=object), 4550), 4326)
    path = tmp_path / "parcels.geojson"
    gpd.GeoDataFrame({"code": codes(), "name": ["甲", "乙", "丙"], "area": [1.5, 2.0, None]},
                     geometry=lonlat, crs=4326).to_file(path, driver="GeoJSON")
    p = read_package(path, field_map={"DKBM": "code", "dkmc": "NAME", "SCMJ": "area"})
    assert not p.is_full and p.tables == {} and p.source_epsg == 4326
    assert p.parcels["DKBM"].tolist() == codes() and p.parcels["DKMC"].tolist() == ["甲", "乙", "丙"]
    assert p.parcels["SCMJ"].iloc[0] == 1.5 and np.isnan(p.parcels["SCMJ"].iloc[2])
    assert p.parcels["DKLB"].isna().all()


def test_plain_layer_without_dkbm_asks_for_a_field_map(tmp_path, scratch):
    path = tmp_path / "parcels.gpkg"
    gpd.GeoDataFrame({"code": codes()}, geometry=boxes(), crs=4550).to_file(path)
    error = refused(scratch, path, "PACKAGE_INVALID", "missing_columns")
    assert "field map" in error.message_en and "字段对照" in error.message_zh


def test_field_map_naming_a_field_the_standard_lacks_is_refused(tmp_path, scratch):
    path = make_layer(tmp_path / "x" / "DK.shp")
    error = refused(scratch, path, "PACKAGE_INVALID", "bad_field_map", field_map={"CODE": "DKBM"})
    assert error.details["unknown"] == ["CODE"]
    refused(scratch, path, "PACKAGE_INVALID", "missing_columns", field_map={"DKMC": "nowhere"})


def test_prj_that_cannot_be_understood_is_refused_as_such(tmp_path, scratch):
    path = make_layer(tmp_path / "x" / "DK.shp")
    path.with_suffix(".prj").write_text(pyproj.CRS.from_epsg(4550).to_wkt("WKT2_2019"))  # GDAL reads WKT1 only
    error = refused(scratch, path, "CRS_UNSUPPORTED", "unsupported_crs")
    assert "unrecognised .prj" in error.message_en


def test_six_degree_code_for_the_same_projection_is_read_as_its_three_degree_zone(tmp_path, scratch):
    path = make_layer(tmp_path / "x" / "DK.shp")
    path.with_suffix(".prj").write_text(pyproj.CRS.from_epsg(4510).to_wkt("WKT1_ESRI"))
    assert read_package(path).source_epsg == 4550


# --- encodings -------------------------------------------------------------------


def test_gbk_layer_with_a_cpg_is_decoded(tmp_path, scratch):
    path = make_layer(tmp_path / "x" / "DK.shp", encoding="GBK")
    assert path.with_suffix(".cpg").read_text().strip().upper() in ("GBK", "CP936", "936")
    p = read_package(path)
    assert p.parcels["DKMC"].tolist() == ["东岗地", "西洼地", "南坡地"]
    assert p.encoding == "GB18030" and p.notes == []


def test_gbk_layer_without_a_cpg_is_decoded_with_a_note(tmp_path, scratch):
    path = make_layer(tmp_path / "x" / "DK.shp", encoding="GBK")
    path.with_suffix(".cpg").unlink()
    p = read_package(path)
    assert p.parcels["DKMC"].tolist() == ["东岗地", "西洼地", "南坡地"]
    assert p.encoding == "GB18030"
    assert len(p.notes) == 1 and ".cpg" in p.notes[0] and "GB18030" in p.notes[0] and "编码" in p.notes[0]


def test_utf8_layer_without_a_cpg_needs_no_note(tmp_path, scratch):
    path = make_layer(tmp_path / "x" / "DK.shp")
    path.with_suffix(".cpg").unlink()
    p = read_package(path)
    assert p.parcels["DKMC"].iloc[0] == "东岗地" and p.encoding == "UTF-8" and p.notes == []


def test_gbk_csv_and_bom_csv_tables_are_decoded(tmp_path, scratch):
    folder = small_package(tmp_path)
    cbf = (folder / "CBF.csv").read_text(encoding="utf-8")
    (folder / "CBF.csv").write_bytes(cbf.encode("gbk"))
    jtcy = (folder / "CBF_JTCY.csv").read_text(encoding="utf-8")
    (folder / "CBF_JTCY.csv").write_text(jtcy.lower().replace("cbfbm", " cbfbm"), encoding="utf-8-sig")
    p = read_package(folder)
    assert p.tables["CBF"]["CBFMC"].tolist() == ["张振海"]
    assert p.tables["CBF_JTCY"]["CBFBM"].tolist() == ["210681101001010001"]
    assert p.tables["CBF_JTCY"]["YHZGX"].tolist() == ["02"]
    assert len(p.notes) == 1 and "CBF.csv" in p.notes[0]


def test_text_fields_are_stripped_and_numbers_in_text_fields_keep_their_width(tmp_path, scratch):
    path = make_layer(tmp_path / "x" / "DK.shp", DKMC=["  东岗地 ", "", None], DLDJ=[1, 10, 3],
                      SCMJ=["400.5", " ", None])
    p = read_package(path)
    assert p.parcels["DKMC"].tolist() == ["东岗地", None, None]
    assert p.parcels["DLDJ"].tolist() == ["01", "10", "03"]
    assert p.parcels["SCMJ"].iloc[0] == 400.5 and p.parcels["SCMJ"].isna().sum() == 2
    assert any("DLDJ" in note for note in p.notes)


def test_integer_dkbm_of_19_digits_is_read_as_text(tmp_path, scratch):
    path = tmp_path / "dk.gpkg"
    gpd.GeoDataFrame({"DKBM": np.array([int(c) for c in codes()], dtype=np.int64)}, geometry=boxes(),
                     crs=4550).to_file(path, layer="DK")
    assert read_package(path).parcels["DKBM"].tolist() == codes()


# --- geometry ----------------------------------------------------------------------


def test_multi_part_null_empty_and_invalid_parcels_are_kept_as_read(tmp_path, scratch):
    a, b, c = boxes()
    bowtie = shapely.Polygon([(X0, Y0 + 100), (X0 + 20, Y0 + 120), (X0 + 20, Y0 + 100), (X0, Y0 + 120)])
    geoms = [shapely.MultiPolygon([a, b]), c, None, shapely.Polygon(), bowtie]
    path = tmp_path / "dk.gpkg"
    gdf = gpd.GeoDataFrame({"DKBM": codes(5)}, geometry=gpd.GeoSeries(geoms), crs=4550)
    gdf.to_file(path, layer="DK", geometry_type="Unknown")
    p = read_package(path)
    g = p.parcels.geometry.values
    assert shapely.get_num_geometries(g[0]) == 2 and g[1].geom_type == "MultiPolygon"
    assert g[2] is None and g[3] is None
    assert g[4].geom_type == "MultiPolygon" and not shapely.is_valid(g[4])
    assert measure_m2(g[:2]) == pytest.approx([800.0, 400.0], abs=0.01)


# --- refused input ---------------------------------------------------------------


def zip_with(path: Path, members: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in members.items():
            info = zipfile.ZipInfo(name)
            z.writestr(info, data)
    return path


@pytest.mark.parametrize("name", ["../evil.shp", "pkg/../../evil.csv", "/etc/evil.csv", "C:/evil.csv",
                                  "..\\evil.csv"])
def test_zip_entries_leaving_the_folder_are_refused(tmp_path, scratch, name):
    path = zip_with(tmp_path / "evil.zip", {"DK.csv": b"x", name: b"x"})
    error = refused(scratch, path, "PACKAGE_INVALID", "zip_traversal")
    assert "evil" in error.details["member"]
    assert not (tmp_path / "evil.shp").exists() and not (tmp_path / "evil.csv").exists()


def test_zip_with_a_symlink_is_refused(tmp_path, scratch):
    info = zipfile.ZipInfo("DK.shp")
    info.external_attr = (0o120777 << 16)
    with zipfile.ZipFile(tmp_path / "link.zip", "w") as z:
        z.writestr(info, "/etc/passwd")
    refused(scratch, tmp_path / "link.zip", "PACKAGE_INVALID", "zip_symlink")


def test_password_protected_zip_is_refused(tmp_path, scratch):
    data = bytearray(zip_with(tmp_path / "locked.zip", {"DK.shp": b"x"}).read_bytes())
    for signature, flags in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):  # set "encrypted" in both headers
        data[data.index(signature) + flags] |= 0x1
    (tmp_path / "locked.zip").write_bytes(bytes(data))
    refused(scratch, tmp_path / "locked.zip", "PACKAGE_INVALID", "zip_encrypted")


def test_unreadable_layer_is_named_as_in_the_package_not_by_a_server_path(tmp_path, scratch):
    path = zip_with(tmp_path / "broken.zip", {"成果/DK.shp": b"not a shapefile"})
    error = refused(scratch, path, "PACKAGE_INVALID", "unreadable")
    assert error.details["file"] == "成果/DK.shp"
    assert str(scratch) not in error.message_en and "sanquan-package" not in error.details["error"]


def test_zip_with_too_many_entries_is_refused(tmp_path, scratch, monkeypatch):
    monkeypatch.setattr(gis.io, "MAX_ZIP_MEMBERS", 3)
    path = zip_with(tmp_path / "many.zip", {f"f{i}.txt": b"x" for i in range(4)})
    error = refused(scratch, path, "PACKAGE_INVALID", "zip_too_many_files")
    assert error.details == {"members": 4, "limit": 3}


def test_package_with_two_dk_layers_or_two_copies_of_a_table_is_refused(tmp_path, scratch):
    folder = small_package(tmp_path)
    make_layer(folder / "old" / "DK2017.shp")
    error = refused(scratch, folder, "PACKAGE_INVALID", "several_dk_layers")
    assert error.details["layers"] == ["DK.shp", "old/DK2017.shp"]
    folder = small_package(tmp_path / "b")
    (folder / "cbf2106812017.csv").write_bytes((folder / "CBF.csv").read_bytes())
    refused(scratch, folder, "PACKAGE_INVALID", "duplicate_tables")


@pytest.fixture(scope="module")
def bomb(tmp_path_factory):
    """200 MB of zeros that deflate to about 200 KB."""
    path = tmp_path_factory.mktemp("bomb") / "bomb.zip"
    block = bytes(1024**2)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z, z.open("DK.dbf", "w") as f:
        for _ in range(200):
            f.write(block)
    assert path.stat().st_size < 400_000
    return path


def test_zip_bomb_over_the_size_limit_is_refused_before_unpacking(bomb, scratch):
    error = refused(scratch, bomb, "PACKAGE_INVALID", "zip_bomb", max_unpacked_bytes=50 * 1024**2)
    assert error.details["check"] == "declared"


def test_zip_bomb_under_the_size_limit_is_refused_for_its_ratio(bomb, scratch):
    error = refused(scratch, bomb, "PACKAGE_INVALID", "zip_bomb")
    assert error.details["check"] == "ratio" and error.details["ratio"] > 400


def test_bytes_actually_unpacked_are_counted_whatever_the_header_says(tmp_path, scratch, monkeypatch):
    path = zip_with(tmp_path / "big.zip", {"a.csv": bytes(3 * 1024**2), "b.csv": bytes(3 * 1024**2)})
    honest = gis.io._checked_members

    def lying(archive, max_bytes):  # as if both headers declared 1 byte
        return honest(archive, 10**12)

    monkeypatch.setattr(gis.io, "_checked_members", lying)
    error = refused(scratch, path, "PACKAGE_INVALID", "zip_bomb", max_unpacked_bytes=4 * 1024**2)
    assert error.details["check"] == "actual"


def test_zip_whose_header_understates_a_member_is_refused_as_damaged(tmp_path, scratch):
    path = zip_with(tmp_path / "lie.zip", {"DK.dbf": bytes(2 * 1024**2)})
    data = bytearray(path.read_bytes())
    real = (2 * 1024**2).to_bytes(4, "little")
    for at in (i for i in range(len(data) - 3) if data[i:i + 4] == real):
        data[at:at + 4] = (1000).to_bytes(4, "little")
    path.write_bytes(bytes(data))
    refused(scratch, path, "PACKAGE_INVALID", "bad_zip")


def test_file_that_is_not_a_zip_is_refused(tmp_path, scratch):
    (tmp_path / "upload.zip").write_bytes(b"PK\x03\x04 not really a zip")
    refused(scratch, tmp_path / "upload.zip", "PACKAGE_INVALID", "bad_zip")
    (tmp_path / "notes.txt").write_text("hello")
    refused(scratch, tmp_path / "notes.txt", "PACKAGE_INVALID", "unsupported_format")


def test_zip_without_a_dk_layer_is_refused(tmp_path, scratch):
    folder = tmp_path / "tables"
    folder.mkdir()
    write_tables(folder)
    error = refused(scratch, zip_folder(folder, tmp_path / "t.zip"), "PACKAGE_INVALID", "no_dk_layer")
    assert "DK" in error.message_zh
    refused(scratch, zip_with(tmp_path / "r.zip", {"readme.txt": b"hi"}), "PACKAGE_INVALID", "no_dk_layer")


def test_package_missing_a_needed_table_is_refused(tmp_path, scratch):
    folder = tmp_path / "pkg"
    make_layer(folder / "DK.shp")
    write_tables(folder, names=("FBF", "CBF"))
    error = refused(scratch, folder, "PACKAGE_INVALID", "missing_tables")
    assert error.details["missing"] == ["CBHT", "CBDKXX"]


def test_layer_without_a_prj_is_refused(tmp_path, scratch):
    path = make_layer(tmp_path / "x" / "DK.shp")
    path.with_suffix(".prj").unlink()
    error = refused(scratch, zip_folder(path.parent, tmp_path / "noprj.zip"), "CRS_UNSUPPORTED", "missing_crs")
    assert ".prj" in error.message_en and ".prj" in error.message_zh


@pytest.mark.parametrize(("epsg", "named"), [(3857, "Pseudo-Mercator"), (32651, "UTM zone 51N"),
                                             (2385, "Xian 1980")])
def test_layer_in_a_foreign_crs_is_refused_naming_it(tmp_path, scratch, epsg, named):
    geoms = list(gpd.GeoSeries(boxes(), crs=4550).to_crs(epsg))
    path = make_layer(tmp_path / "x" / "DK.shp", geoms=geoms, crs=epsg)
    error = refused(scratch, path, "CRS_UNSUPPORTED", "unsupported_crs")
    assert named in error.message_en and f"EPSG:{epsg}" in error.message_zh


def test_coordinates_outside_china_are_refused_with_the_row(tmp_path, scratch):
    geoms = [shapely.box(124.0, 39.9, 124.001, 39.901), shapely.box(10.0, 50.0, 10.001, 50.001)]
    path = make_layer(tmp_path / "x" / "DK.shp", geoms=geoms, crs=4490)
    error = refused(scratch, path, "OUTSIDE_SUPPORTED_AREA", "outside_china")
    assert error.details["row"] == 2 and error.details["layer"] == "DK.shp"


def test_coordinates_that_do_not_fit_the_declared_zone_are_refused(tmp_path, scratch):
    shifted = [shapely.affinity.translate(g, 41_000_000) for g in boxes()]  # zone prefix with a plain code
    path = make_layer(tmp_path / "x" / "DK.shp", geoms=shifted, crs=4550)
    error = refused(scratch, path, "OUTSIDE_SUPPORTED_AREA", "zone_prefix_mismatch")
    assert error.details["row"] == 1


@pytest.mark.parametrize("kind", ["csv", "dbf"])
def test_table_missing_required_columns_is_refused_naming_them(tmp_path, scratch, kind):
    folder = small_package(tmp_path)
    cbf = pd.read_csv(folder / "CBF.csv", dtype=str).drop(columns=["CBFMC"])
    (folder / "CBF.csv").unlink()
    if kind == "csv":
        cbf.to_csv(folder / "CBF.csv", index=False)
    else:
        pyogrio.write_dataframe(cbf, folder / "CBF.dbf", driver="ESRI Shapefile", encoding="UTF-8")
    error = refused(scratch, zip_folder(folder, tmp_path / "p.zip"), "PACKAGE_INVALID", "missing_columns")
    assert error.details["table"] == "CBF" and error.details["missing"] == ["CBFMC"]
    assert "CBFMC" in error.message_zh and "CBF" in error.message_en


def test_dbf_tables_are_read_as_text(tmp_path, scratch):
    folder = small_package(tmp_path)
    jtcy = pd.read_csv(folder / "CBF_JTCY.csv", dtype=str)
    (folder / "CBF_JTCY.csv").unlink()
    jtcy["YHZGX"] = jtcy["YHZGX"].astype(int)  # stored as a number: "02" became 2
    pyogrio.write_dataframe(jtcy, folder / "CBF_JTCY.dbf", driver="ESRI Shapefile", encoding="GBK")
    p = read_package(folder)
    assert p.tables["CBF_JTCY"]["YHZGX"].tolist() == ["02"]
    assert p.tables["CBF_JTCY"]["CYXM"].tolist() == ["张振海"]


def test_layer_without_features_is_refused(tmp_path, scratch):
    path = make_layer(tmp_path / "x" / "DK.shp", geoms=[])
    refused(scratch, path, "PACKAGE_INVALID", "no_features")


def test_point_layer_is_refused(tmp_path, scratch):
    path = make_layer(tmp_path / "x" / "DK.shp", geoms=[shapely.Point(X0, Y0)] * 3)
    error = refused(scratch, zip_folder(path.parent, tmp_path / "p.zip"), "PACKAGE_INVALID", "not_polygons")
    assert error.details["geometry_type"] == "Point"


def test_polygon_layer_with_a_line_feature_is_refused_with_the_row(tmp_path, scratch):
    geoms = [*boxes(2), shapely.LineString([(X0, Y0), (X0 + 5, Y0 + 5)])]
    path = tmp_path / "dk.gpkg"
    gpd.GeoDataFrame({"DKBM": codes()}, geometry=geoms, crs=4550).to_file(path, layer="DK",
                                                                          geometry_type="Unknown")
    error = refused(scratch, path, "PACKAGE_INVALID", "not_polygons")
    assert error.details["row"] == 3


def test_dkbm_stored_as_a_float_is_refused(tmp_path, scratch):
    path = make_layer(tmp_path / "x" / "DK.shp", DKBM=[float(c) for c in codes()])
    error = refused(scratch, path, "PACKAGE_INVALID", "wrong_field_type")
    assert error.details["field"] == "DKBM" and error.details["row"] == 1
    assert "文本" in error.message_zh


def test_numeric_field_holding_words_is_refused(tmp_path, scratch):
    path = make_layer(tmp_path / "x" / "DK.shp", SCMJ=["400", "四百", "1"])
    error = refused(scratch, path, "PACKAGE_INVALID", "wrong_field_type")
    assert (error.details["field"], error.details["row"], error.details["value"]) == ("SCMJ", 2, "四百")


# --- plain layer export ------------------------------------------------------------


@pytest.mark.parametrize(("fmt", "suffix"), [("gpkg", ".gpkg"), ("geojson", ".geojson"), ("shp", ".zip")])
def test_parcels_are_exported_and_read_back(tmp_path, scratch, fmt, suffix):
    geoms = to_storage(np.array(boxes(), dtype=object), 4550)
    gdf = gpd.GeoDataFrame({"code": codes(), "name": ["甲", "乙", "丙"]}, geometry=geoms, crs=4490)
    path = write_parcels(gdf, tmp_path / f"parcels{suffix}", format=fmt, crs_epsg=4550 if fmt == "shp" else 4490)
    p = read_package(path, field_map={"DKBM": "code", "DKMC": "name"})
    assert p.parcels["DKBM"].tolist() == codes() and p.parcels["DKMC"].tolist() == ["甲", "乙", "丙"]
    assert measure_m2(p.parcels.geometry.values) == pytest.approx([400.0] * 3, abs=0.01)
    assert_clean(scratch)
