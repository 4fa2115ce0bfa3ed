"""docker-compose.yml stays a valid deployment: api, worker (scalable), redis and postgres, health-checked."""

from __future__ import annotations

from pathlib import Path

import yaml

COMPOSE = Path(__file__).resolve().parents[1] / "docker-compose.yml"


def test_compose_names_the_services_with_health_checks():
    services = yaml.safe_load(COMPOSE.read_text())["services"]
    assert {"api", "worker", "redis", "postgres"} <= set(services)
    for name in ("api", "worker", "redis", "postgres"):
        assert "healthcheck" in services[name], name


def test_workers_can_scale_and_start_after_migrations():
    services = yaml.safe_load(COMPOSE.read_text())["services"]
    worker = services["worker"]
    assert "container_name" not in worker and "ports" not in worker  # several replicas can run
    assert worker["command"][:2] == ["dispatch", "worker"]
    for name in ("api", "worker", "cron"):
        depends = services[name]["depends_on"]
        assert depends["migrate"]["condition"] == "service_completed_successfully"
        assert depends["postgres"]["condition"] == "service_healthy"


def test_production_secrets_are_required_not_defaulted():
    text = COMPOSE.read_text()
    assert "${SECRET_KEY:?" in text and "${POSTGRES_PASSWORD:?" in text
    assert yaml.safe_load(text)["services"]["api"]["environment"]["ENVIRONMENT"] == "${ENVIRONMENT:-production}"
