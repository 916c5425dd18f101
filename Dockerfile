# syntax=docker/dockerfile:1
# Multi-stage: build the locked virtualenv with uv, then copy it into a slim runtime as a non-root user.

FROM python:3.11-slim AS build
ENV UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_PYTHON_DOWNLOADS=never \
    UV_PROJECT_ENVIRONMENT=/opt/venv
RUN pip install --no-cache-dir "uv==0.13.8"
WORKDIR /src
# Dependencies first, so code changes reuse this layer. The same step as `make install` (RUNTIME_SYNC in the
# Makefile; UV_COMPILE_BYTECODE=1 is its --compile-bytecode) without the `embedded` group: no chdb, pandas or
# pyarrow in the image, which ships logs to a ClickHouse server (LOG_SHIPPING=stdout).
COPY pyproject.toml uv.lock ./
RUN uv sync --frozen --no-dev
COPY app ./app
COPY alembic ./alembic
COPY pyproject.toml alembic.ini* ./
COPY config ./config

FROM python:3.11-slim AS runtime
ENV PATH=/opt/venv/bin:$PATH \
    VIRTUAL_ENV=/opt/venv \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    APP_ENV=production \
    LOG_SHIPPING=stdout \
    HOST=0.0.0.0 \
    PORT=8000
RUN groupadd --system --gid 10001 app \
    && useradd --system --uid 10001 --gid app --home-dir /app --shell /usr/sbin/nologin app \
    && mkdir -p /app/data /app/sandbox-keys \
    && chown app:app /app/data /app/sandbox-keys
WORKDIR /app
COPY --from=build /opt/venv /opt/venv
COPY --from=build --chown=root:root /src /app
USER app:app
EXPOSE 8000
# The container's own network address (what a published port reaches), not the loopback.
HEALTHCHECK --interval=15s --timeout=3s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import os, socket, urllib.request; urllib.request.urlopen(f\"http://{socket.gethostbyname(socket.gethostname())}:{os.environ.get('PORT', '8000')}/health\", timeout=2)"]
ENTRYPOINT ["python", "-m", "app"]
CMD ["api"]
