"""Staging a source's harmonized rows: `Storage.write_parquet_batches` writes tables as they come and
puts the file in place only once whole, on local disk and on S3 (moto's server: a real S3 endpoint on
127.0.0.1, started here); `pipeline.gate` stages a harmonizer's table or its iterator of tables."""

from __future__ import annotations

import dataclasses
import socket

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from ercan import pipeline, schema, state
from ercan.errors import SourceError
from ercan.harmonize import finish
from ercan.sources import get
from ercan.storage import TEMPORARY, Storage

BUCKET = "ercan-staging-test"
SCHEMA = schema.arrow_schema()


@pytest.fixture(scope="module")
def s3_endpoint():
    from moto.server import ThreadedMotoServer

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


@pytest.fixture(params=["local", "s3"])
def storage(request, tmp_path, monkeypatch):
    if request.param == "local":
        yield Storage(str(tmp_path / "store"))
        return
    import boto3
    import s3fs

    endpoint = request.getfixturevalue("s3_endpoint")
    for name, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                        "AWS_DEFAULT_REGION": "us-east-1", "AWS_ENDPOINT_URL": endpoint}.items():
        monkeypatch.setenv(name, value)
    s3fs.S3FileSystem.clear_instance_cache()  # an instance cached by another test may point elsewhere
    boto3.client("s3").create_bucket(Bucket=BUCKET)
    prefix = tmp_path.name  # each test its own folder of the bucket
    yield Storage(f"s3://{BUCKET}/{prefix}")
    s3fs.S3FileSystem.clear_instance_cache()


def observations(first: int, count: int) -> pa.Table:
    """SYNTHETIC rows in the common schema (made up here, not data): `count` sites from `first` on."""
    return finish(pa.table({
        "snapshot": ["0" * 64] * count, "area_code": [f"SITE-{i}" for i in range(first, first + count)],
        "area_level": ["site"] * count, "parent_code": ["CHN"] * count, "year": pa.array([2018] * count, pa.int32()),
        "land_category": ["forest_land"] * count, "variable": ["area"] * count,
        "value": [float(i) for i in range(first, first + count)], "unit": ["ha"] * count, "flag": ["reported"] * count,
    }), "synthetic")


def leftovers(storage: Storage, *folder: str) -> list[str]:
    """Temporary files (local) and unfinished multipart uploads (S3) under `folder`."""
    storage.fs.invalidate_cache()
    found = [name for name in storage.listdir(*folder) if TEMPORARY in name]
    if not storage.is_local:
        import boto3

        uploads = boto3.client("s3").list_multipart_uploads(Bucket=BUCKET, Prefix=storage.root.split("/", 1)[1])
        found += [upload["Key"] for upload in uploads.get("Uploads", [])]
    return found


def test_batches_are_written_one_row_group_each_and_read_back_whole(storage):
    batches = [observations(0, 3), observations(3, 4), observations(7, 2)]
    assert storage.write_parquet_batches(iter(batches), SCHEMA, "staging", "s", "rows.parquet") == 9
    with storage.fs.open(storage.path("staging", "s", "rows.parquet"), "rb") as f:
        assert pq.ParquetFile(f).num_row_groups == 3  # written as they came, not gathered first
    assert storage.read_parquet("staging", "s", "rows.parquet").equals(pa.concat_tables(batches))
    encoded = storage.read_parquet("staging", "s", "rows.parquet", strings_as_dictionary=True)
    assert pa.types.is_dictionary(encoded.schema.field("area_code").type)
    assert not pa.types.is_dictionary(encoded.schema.field("value").type)
    assert encoded.to_pylist() == pa.concat_tables(batches).to_pylist()  # the same values
    assert leftovers(storage, "staging", "s") == []


def test_an_error_while_the_batches_are_produced_leaves_the_old_file_and_nothing_else(storage):
    storage.write_parquet(observations(0, 2), "staging", "s", "rows.parquet")

    def failing():
        yield observations(0, 5)
        raise SourceError("unknown province name '北平'", file="plots.csv", row=7, column="省份")

    with pytest.raises(SourceError, match="row 7"):
        storage.write_parquet_batches(failing(), SCHEMA, "staging", "s", "rows.parquet")
    with pytest.raises(SourceError):
        storage.write_parquet_batches(failing(), SCHEMA, "staging", "s", "new.parquet")
    assert storage.read_parquet("staging", "s", "rows.parquet").equals(observations(0, 2))
    assert storage.listdir("staging", "s") == ["rows.parquet"]
    assert leftovers(storage, "staging", "s") == []


# --- the gate: a harmonizer's iterator of tables ---------------------------------------------------------

SOURCE_ID = "china_nfi9"  # a small shipped source (80 rows)


@pytest.fixture
def ingested(tmp_path):
    storage = Storage(str(tmp_path / "store"))
    pipeline.ingest_landing(storage, get(SOURCE_ID))
    return storage


def streamed(rows_per_table: int, fail_after: int | None = None):
    """The shipped harmonizer's rows as an iterator of tables of `rows_per_table` rows, raising its
    SourceError after `fail_after` of them (as a streaming harmonizer meeting a bad line would)."""
    harmonizer = get(SOURCE_ID)

    def harmonize(files):
        table = harmonizer.harmonize(files)
        for number, start in enumerate(range(0, table.num_rows, rows_per_table)):
            if number == fail_after:
                raise SourceError("'x' is not a number", file="provinces.csv", row=start + 2, column="value")
            yield table.slice(start, rows_per_table)

    return dataclasses.replace(harmonizer, harmonize=harmonize, harmonize_with_places=None)  # it streams: no places


def test_the_gate_stages_an_iterator_of_tables_like_the_one_table(ingested, tmp_path):
    outcome = pipeline.gate(ingested, streamed(30))
    assert outcome.status == "accepted", outcome.reason
    staged = ingested.read_parquet("staging", SOURCE_ID, f"{state.load(ingested, SOURCE_ID)['accepted']['key']}.parquet")

    whole = Storage(str(tmp_path / "whole"))
    pipeline.ingest_landing(whole, get(SOURCE_ID))
    assert pipeline.gate(whole, get(SOURCE_ID)).rows == outcome.rows == staged.num_rows
    key = state.load(whole, SOURCE_ID)["accepted"]["key"]
    assert whole.read_parquet("staging", SOURCE_ID, f"{key}.parquet").equals(staged)


def test_a_source_error_in_a_later_table_quarantines_and_stages_nothing(ingested):
    outcome = pipeline.gate(ingested, streamed(30, fail_after=2))
    assert outcome.status == "quarantined"
    assert outcome.reason.startswith(f"source {SOURCE_ID!r}, file 'provinces.csv', row 62, column 'value': ")
    staged = [name for name in ingested.listdir("staging", SOURCE_ID) if not name.endswith(".quality.parquet")]
    assert staged == []  # no half file under the final name, no temporary beside it


def test_accounting_takes_the_rows_the_gate_just_accepted_once(ingested, monkeypatch):
    """In one process the gate hands the rows it validated (each text column unified) to accounting, which
    then does not read the staged file; the next accounting reads it. Both make the same products."""
    assert pipeline.gate(ingested, streamed(30)).status == "accepted"  # three row groups: three dictionaries
    staged = ("staging", SOURCE_ID, f"{state.load(ingested, SOURCE_ID)['accepted']['key']}.parquet")
    reads = []
    read_parquet = Storage.read_parquet
    monkeypatch.setattr(Storage, "read_parquet", lambda self, *parts, **kwargs: (
        reads.append(parts), read_parquet(self, *parts, **kwargs))[1])
    from_gate = pipeline.account(ingested)
    assert staged not in reads
    from_file = pipeline.account(ingested)
    assert staged in reads
    assert from_gate.keys() == from_file.keys() and from_gate["observations"].num_rows == 79  # 广西 森林覆盖率 dropped
    for product, frame in from_gate.items():
        if isinstance(frame, pa.Table):
            assert frame.cast(schema.plain(frame.schema)).equals(from_file[product].cast(schema.plain(frame.schema)))
        else:
            pd.testing.assert_frame_equal(frame, from_file[product], check_categorical=False)
