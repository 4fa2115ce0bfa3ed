"""The primitives any layer may call: the correlation ids of the moment (`context`) and the Prometheus
instruments (`metrics`). `dispatch.observability` sits on top and wires them into the app, the jobs and the
scrape; this package imports nothing of the service, so calling it from below closes no loop."""

# The variable prometheus_client reads for its multi-process directory. It lives here, not in `metrics`,
# because it must be set before `metrics` is first imported.
MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
