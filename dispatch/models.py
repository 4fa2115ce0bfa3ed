"""Every mapped class, imported once so the metadata is complete (Alembic, tests)."""

from dispatch.audit.models import AuditEntry
from dispatch.auth.models import Role, User, UserSession
from dispatch.cases.models import Case, CaseEvent, IntakeKey
from dispatch.clinics.models import Clinic, ClinicKind, ContractPeriod
from dispatch.db import Base
from dispatch.patients.models import Enrolment, Patient
from dispatch.programme.models import FiscalYear, MedicalArea, Municipality, Programme, ServiceHoursRule
from dispatch.roster.models import Physician, PhysicianRole, Shift, shift_coverage

__all__ = [
    "AuditEntry",
    "Base",
    "Case",
    "CaseEvent",
    "Clinic",
    "ClinicKind",
    "ContractPeriod",
    "Enrolment",
    "FiscalYear",
    "IntakeKey",
    "MedicalArea",
    "Municipality",
    "Patient",
    "Physician",
    "PhysicianRole",
    "Programme",
    "Role",
    "ServiceHoursRule",
    "Shift",
    "User",
    "UserSession",
    "shift_coverage",
]
