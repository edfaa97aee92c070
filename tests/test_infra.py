"""infra/docker-compose.yml cannot be started here (no Docker daemon): it is parsed safely and
checked for the services, pinned images, the variables the code reads, and secrets that come
only from infra/.env (documented in .env.example and infra/README.md), never from the file."""

from __future__ import annotations

import inspect
import re

import pytest
import yaml

from ercan.flows.deployments import WORK_POOL
from ercan.sources import PROJECT_ROOT
from ercan.storage import resolve_root

INFRA = PROJECT_ROOT / "infra"
REFERENCE = re.compile(r"\$\{(\w+)(:?[?-])?([^}]*)\}")


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((INFRA / "docker-compose.yml").read_text())


def documented_variables() -> set[str]:
    lines = (INFRA / ".env.example").read_text().splitlines()
    return {line.split("=", 1)[0] for line in lines if re.match(r"^\w+=", line)}


def strings(node) -> list[str]:
    """Every string value in the parsed compose file."""
    if isinstance(node, dict):
        return [s for value in node.values() for s in strings(value)]
    if isinstance(node, list):
        return [s for value in node for s in strings(value)]
    return [node] if isinstance(node, str) else []


def test_services_and_pinned_images(compose):
    services = compose["services"]
    assert set(services) == {"postgres", "prefect-server", "minio", "minio-setup", "worker", "deploy"}
    for name, service in services.items():
        image = service["image"]
        assert ":" in image and not image.endswith(":latest"), f"{name}: pin the image ({image})"
        if "build" in service:  # the project's image: the pinned Python packages of pyproject.toml
            assert (PROJECT_ROOT / "infra" / service["build"]["context"] / service["build"]["dockerfile"]).resolve() \
                == INFRA / "Dockerfile"
    assert "pip install --no-cache-dir -e ." in (INFRA / "Dockerfile").read_text()
    for name in ("postgres", "prefect-server", "minio"):
        assert services[name]["healthcheck"]["test"], name


def test_prefect_server_runs_on_postgres(compose):
    server = compose["services"]["prefect-server"]
    url = server["environment"]["PREFECT_API_DATABASE_CONNECTION_URL"]
    assert url.startswith("postgresql+asyncpg://prefect:${POSTGRES_PASSWORD:?") and url.endswith("@postgres:5432/prefect")
    assert server["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert server["command"][:3] == ["prefect", "server", "start"]


def test_worker_and_deploy_get_what_the_code_reads(compose):
    # What ercan reads: its store from ERCAN_STORAGE; s3fs/botocore the standard AWS_* variables.
    assert '"ERCAN_STORAGE"' in inspect.getsource(resolve_root)
    for name in ("worker", "deploy"):
        env = compose["services"][name]["environment"]
        assert env["PREFECT_API_URL"] == "http://prefect-server:4200/api"
        assert env["ERCAN_STORAGE"].startswith("s3://")
        assert env["AWS_ENDPOINT_URL"] == "http://minio:9000"
        assert {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_DEFAULT_REGION"} <= set(env)
    worker = compose["services"]["worker"]["command"]
    assert worker[:5] == ["prefect", "worker", "start", "--pool", WORK_POOL]
    assert compose["services"]["deploy"]["command"][:2] == ["ercan", "deploy"]


def test_secrets_are_required_from_the_environment_and_documented(compose):
    documented = documented_variables()
    readme = (INFRA / "README.md").read_text()
    secrets = []
    for name, service in compose["services"].items():
        for key, value in (service.get("environment") or {}).items():
            if re.search(r"PASSWORD|SECRET|ACCESS_KEY", key):
                reference = REFERENCE.fullmatch(str(value))
                assert reference and reference.group(2) == ":?", f"{name}.{key}: a secret must be ${{VAR:?...}}, not {value!r}"
                secrets.append(reference.group(1))
    assert {"POSTGRES_PASSWORD", "MINIO_ROOT_PASSWORD", "ERCAN_S3_SECRET_KEY"} <= set(secrets)
    for variable in {m.group(1) for value in strings(compose) for m in REFERENCE.finditer(value)}:
        assert variable in documented, f"{variable} is not in infra/.env.example"
        assert variable in readme, f"{variable} is not explained in infra/README.md"
    example = (INFRA / ".env.example").read_text()
    for secret in ("POSTGRES_PASSWORD", "MINIO_ROOT_PASSWORD", "ERCAN_S3_SECRET_KEY"):
        assert re.search(rf"^{secret}=$", example, re.M), f"{secret} must have no default in .env.example"
    assert "infra/.env" in (PROJECT_ROOT / ".gitignore").read_text().splitlines()


def test_prefect_yaml_deploys_the_installed_flow_on_the_same_pool_and_schedule():
    from prefect.utilities.importtools import import_object

    from ercan.flows.deployments import NIGHTLY_CRON
    from ercan.flows.nightly import nightly

    project = yaml.safe_load((PROJECT_ROOT / "prefect.yaml").read_text())
    deployments = {d["name"]: d for d in project["deployments"]}
    assert set(deployments) == {"nightly", "rerun"} and project["pull"] == []
    for deployment in deployments.values():
        assert import_object(deployment["entrypoint"]) is nightly
        assert deployment["work_pool"]["name"] == WORK_POOL
    assert deployments["nightly"]["schedules"] == [{"cron": NIGHTLY_CRON, "timezone": "UTC"}]
    assert "schedules" not in deployments["rerun"]
