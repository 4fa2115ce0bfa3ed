"""What on-call engineers read: structured logs with request ids, Prometheus metrics, liveness, readiness."""
