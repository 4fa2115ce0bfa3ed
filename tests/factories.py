"""Small helpers for building requests in tests."""

from __future__ import annotations

from typing import Any


def intake_body(**overrides: Any) -> dict[str, Any]:
    """A plausible call about the demo patient D-0001 (慢性心不全, on home oxygen)."""
    body: dict[str, Any] = {
        "patient": {"clinic_patient_number": "D-0001"},
        "caller_name": "印旛 花子",
        "caller_relation": "family",
        "callback_phone": "090-1234-5678",
        "chief_complaint": "夕方から息苦しさが強くなった",
        "onset": "2時間前から",
        "consciousness": "alert",
        "breathing": "laboured",
        "pain_score": 2,
        "vitals": {"spo2_percent": 88, "pulse_bpm": 104, "temperature_c": 37.2},
        "attending_unavailable": "no_answer",
    }
    body.update(overrides)
    return body


def decision_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "disposition": "visit_urgent",
        "urgency": "orange",
        "jtas_level": 2,
        "note": "往診へ",
    }
    body.update(overrides)
    return body


def add_user(services, username: str, role, **extra: Any) -> dict[str, str]:
    """One more user of a role (beside the demo ones); returns the credentials to log in with."""
    from dispatch.auth.service import create_user
    from dispatch.db import unit_of_work

    password = f"{username}-password-0123"
    with unit_of_work(services.session_factory) as session:
        create_user(
            session,
            services.passwords,
            services.clock,
            username=username,
            password=password,
            display_name=extra.pop("display_name", username),
            role=role,
            **extra,
        )
    return {"username": username, "password": password}
