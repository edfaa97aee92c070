"""The whole pipeline on S3: a real S3-compatible endpoint (moto's server) on 127.0.0.1, started
here; credentials only from the environment, never written into the store."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import prefect_env

pytestmark = pytest.mark.slow
ERCAN = str(Path(sys.executable).with_name("ercan"))
KEY, SECRET = "ercan-test-key-7f3a", "ercan-test-secret-91c2"


@pytest.fixture(scope="module")
def s3_env(tmp_path_factory):
    from moto.server import ThreadedMotoServer

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    env = prefect_env(tmp_path_factory.mktemp("prefect"), AWS_ACCESS_KEY_ID=KEY, AWS_SECRET_ACCESS_KEY=SECRET,
                      AWS_ENDPOINT_URL=f"http://127.0.0.1:{port}", AWS_DEFAULT_REGION="us-east-1",
                      ERCAN_STORAGE="s3://ercan-nightly/programme")
    import boto3
    boto3.client("s3", endpoint_url=env["AWS_ENDPOINT_URL"], aws_access_key_id=KEY, aws_secret_access_key=SECRET,
                 region_name="us-east-1").create_bucket(Bucket="ercan-nightly")
    yield env
    server.stop()


# Three sources of different kinds (workbooks with regional rows, a subnational CSV, a CRF workbook):
# every stage and kind of store file on S3, at a third of a run of all sources.
ON_S3 = ["--source", "fra2020", "--source", "gfw_usa", "--source", "crf_austria"]


def test_full_run_on_s3_and_the_catalog_loads_from_s3_in_a_fresh_process(s3_env):
    run = subprocess.run([ERCAN, "run", *ON_S3], env=s3_env, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "published carbon_stocks" in run.stdout
    docs = run.stdout.split("quality report (GX Data Docs): ")[1].split()[0]
    assert docs.startswith("s3://ercan-nightly/programme/reports/data_docs/") and docs.endswith("/index.html")

    check = subprocess.run([sys.executable, "-c", """
import intake, s3fs
cat = intake.from_yaml_file("s3://ercan-nightly/programme/catalog.yaml")
df = cat["carbon_stocks"].read()
world = df[(df.area_code == "WORLD") & (df.variable == "area") & (df.year == 2020)]
print(len(df), sorted(df.area_level.unique()), float(world.value.iloc[0]))
fs = s3fs.S3FileSystem()
text = fs.cat_file("ercan-nightly/programme/catalog.yaml").decode()
text += "".join(fs.cat_file(p).decode() for p in fs.glob("ercan-nightly/programme/products/*/*/manifest.json"))
print("SECRET-FOUND" if ("{KEY}" in text or "{SECRET}" in text) else "clean")
print("docs" if fs.exists("{DOCS}") and fs.glob("{DOCS}".replace("index.html", "validations/*")) else "no docs")
report = "ercan-nightly/programme/" + cat["carbon_stocks"].metadata["report"]
print("report" if fs.cat_file(report).startswith(b"<!DOCTYPE html>") else "no report")
""".replace("{KEY}", KEY).replace("{SECRET}", SECRET).replace("{DOCS}", docs)], env=s3_env, capture_output=True, text=True, timeout=120)
    assert check.returncode == 0, check.stderr
    secrets = check.stdout.splitlines()[1]
    assert "['global', 'national', 'regional']" in check.stdout
    assert "4058930810.0" in check.stdout
    assert secrets == "clean"
    assert check.stdout.splitlines()[2] == "docs"
    assert check.stdout.splitlines()[3] == "report"  # written through the store, linked from the catalog

    again = subprocess.run([ERCAN, "run", *ON_S3], env=s3_env, capture_output=True, text=True, timeout=600)
    assert again.returncode == 0 and "nothing new published" in again.stdout
    versions = subprocess.run([ERCAN, "versions", "carbon_stocks"], env=s3_env, capture_output=True, text=True)
    assert versions.returncode == 0 and versions.stdout.count("carbon_stocks") >= 1
