# One image for the api, worker and cron services (docker-compose.yml): the lock's runtime set only (hashes
# checked), then the service itself as a wheel. No development, demo or simulation package is installed.
FROM python:3.11-slim AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
COPY requirements/runtime.txt ./requirements/runtime.txt
RUN python -m venv /opt/dispatch \
    && /opt/dispatch/bin/pip install --no-cache-dir --upgrade 'pip>=24' \
    && /opt/dispatch/bin/pip install --no-cache-dir --require-hashes --no-deps -r requirements/runtime.txt
COPY pyproject.toml README.md ./
COPY config ./config
COPY dispatch ./dispatch
COPY workers ./workers
RUN /opt/dispatch/bin/pip install --no-cache-dir --no-deps . \
    && /opt/dispatch/bin/pip check \
    && cd / && /opt/dispatch/bin/python -c "import dispatch.app, workers.jobs"

FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PATH=/opt/dispatch/bin:$PATH ENVIRONMENT=production
COPY --from=build /opt/dispatch /opt/dispatch
# `dispatch migrate` carries its migrations in the package: no alembic.ini or source tree is needed.
WORKDIR /app
# The metrics directory every process of a host shares (docker-compose mounts a volume here, which takes
# this directory's owner).
RUN useradd --system --uid 1000 dispatch \
    && mkdir -p /var/lib/dispatch/metrics && chown dispatch /var/lib/dispatch/metrics
USER dispatch
EXPOSE 8000
CMD ["dispatch", "serve", "--host", "0.0.0.0", "--port", "8000"]
