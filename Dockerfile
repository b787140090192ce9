# The metasup GitHub Action. BASE_IMAGE is an ARG so tests can build on a local stand-in.
ARG BASE_IMAGE=python:3.12-slim
FROM ${BASE_IMAGE}

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONPATH=/opt/metasup

# git reads the base commit's artifacts for baselines; GitHub mounts the workspace owned by
# another user, so every directory is marked safe.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends git \
    && apt-get clean \
    && rm -rf /var/lib/apt/lists/* \
    && git config --system --add safe.directory '*'

WORKDIR /opt/metasup
# Dependencies first, pinned with hashes, so code changes reuse this layer.
COPY requirements.lock ./
RUN python -m pip install --no-deps --require-hashes -r requirements.lock

COPY entrypoint.py ./
COPY metasup ./metasup

# GitHub runs Docker actions as root and mounts the workspace; no USER switch (GitHub docs).
ENTRYPOINT ["python", "/opt/metasup/entrypoint.py"]
