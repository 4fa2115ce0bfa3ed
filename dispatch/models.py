"""Every mapped class, imported once so the metadata is complete (Alembic, tests)."""

from dispatch.areas.models import HealthCentre, MedicalAssociation
from dispatch.audit.models import AuditChainHead, AuditEntry
from dispatch.auth.models import Role, User, UserSession
from dispatch.cases.models import Case, CaseEvent, IntakeKey
from dispatch.clinics.models import Clinic, ClinicKind, ContractPeriod
from dispatch.db import Base
from dispatch.handoffs.models import Handoff, handoff_case
from dispatch.hospitals.models import BedReport, Hospital
from dispatch.offers.models import Offer, OfferState
from dispatch.outcomes.models import DeathRecord, OutcomeAmendment, VisitOutcome
from dispatch.patients.models import Enrolment, Patient
from dispatch.programme.models import FiscalYear, MedicalArea, Municipality, Programme, ServiceHoursRule
from dispatch.reports.models import ReportMonth, ReportMonthStamp
from dispatch.roster.gap_models import CoverageGapAlert
from dispatch.roster.models import Physician, PhysicianRole, Shift, ShiftCover, ShiftSwap, shift_coverage
from dispatch.sms.models import SmsCapAlert, SmsMessage
from dispatch.submissions.models import MonthSubmission
from dispatch.twofactor.models import RecoveryCode, RememberedDevice, TotpFactor

__all__ = [
    "AuditChainHead",
    "AuditEntry",
    "Base",
    "BedReport",
    "Case",
    "CaseEvent",
    "Clinic",
    "ClinicKind",
    "ContractPeriod",
    "CoverageGapAlert",
    "DeathRecord",
    "Enrolment",
    "FiscalYear",
    "Handoff",
    "HealthCentre",
    "Hospital",
    "IntakeKey",
    "MedicalArea",
    "MedicalAssociation",
    "MonthSubmission",
    "Municipality",
    "Offer",
    "OfferState",
    "OutcomeAmendment",
    "Patient",
    "Physician",
    "PhysicianRole",
    "Programme",
    "RecoveryCode",
    "RememberedDevice",
    "ReportMonth",
    "ReportMonthStamp",
    "Role",
    "ServiceHoursRule",
    "Shift",
    "ShiftCover",
    "ShiftSwap",
    "SmsCapAlert",
    "SmsMessage",
    "TotpFactor",
    "User",
    "UserSession",
    "VisitOutcome",
    "handoff_case",
    "shift_coverage",
]
