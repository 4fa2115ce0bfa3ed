"""The dispatch engine: a case's path from the triage decision to the physician at the door, in one place.

Read it in this order. Each module calls the domain packages below it (`cases`, `matching`, `offers`,
`sms`) and none of them calls back up here:

- `rounds`: a matching round offers every waiting case to the physician the policy picks (a triage
  decision, `triage.service.decide`, puts the case in dispatching and enqueues `jobs.DRIVE_CASE`);
- `runner`: what the workers run: the round with its offer SMS sent, the deadline started once the SMS
  leaves, an offer timed out or undelivered and the next physician offered;
- `replies`: the physician's SMS answer: accepted or declined, then on the way, arrived, done;
- `calls`: an offer unanswered at its call time rings the physician; the key pressed (1 accept, 2 decline)
  acts as their SMS answer would, once per CallSid; the coordinator's alerts may ring too;
- `manual`: the coordinator's hand: offer the case to a chosen physician, or assign it outright;
- `endings`: a case ended before its visit (the family called 119, closed unfilled, cancelled), with why:
  its offer withdrawn, the physician on it told;
- `sms_cap`: a number at its hourly SMS cap: its offer passes to the next physician, the rest waits, the
  coordinator is told;
- `reconciler`: the sweep that re-drives whatever the database says needs work that no job holds;
- `keeper`: the same sweep run by the workers themselves while cron's sweeps are overdue.
"""
