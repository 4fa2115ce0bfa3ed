# One image for the api, worker and cron services (docker-compose.yml).
FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
WORKDIR /app
COPY pyproject.toml README.md alembic.ini ./
COPY config ./config
COPY dispatch ./dispatch
COPY workers ./workers
COPY simulations ./simulations
RUN pip install --no-cache-dir . && useradd --system --uid 1000 dispatch
USER dispatch
EXPOSE 8000
CMD ["dispatch", "serve", "--host", "0.0.0.0", "--port", "8000"]
