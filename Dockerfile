# One image for the api, worker, beat and migrate services of docker-compose.yml.
FROM python:3.11-slim

ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    UV_PROJECT_ENVIRONMENT=/opt/venv \
    UV_COMPILE_BYTECODE=1 \
    PATH=/opt/venv/bin:$PATH

RUN pip install --no-cache-dir uv==0.13.8

WORKDIR /app
# Dependencies first, from the lock, so code changes do not reinstall them.
COPY pyproject.toml uv.lock README.md ./
RUN uv sync --frozen --no-dev --no-group bench --no-install-project

COPY service ./service
COPY workers ./workers
COPY classifiers ./classifiers
RUN uv sync --frozen --no-dev --no-group bench \
    && useradd --system --uid 10001 moderation \
    && mkdir -p /app/var && chown moderation /app/var

USER moderation
EXPOSE 8000
CMD ["moderation", "serve", "--host", "0.0.0.0", "--port", "8000"]
