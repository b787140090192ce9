# The metasup GitHub Action. BASE_IMAGE is an ARG so tests can build on a local stand-in.
# Two stages: the builder installs the hash-locked wheels into a venv and prunes what the
# runtime never needs; the final stage is the base plus git, that venv and metasup, byte-compiled.
ARG BASE_IMAGE=python:3.12-slim
FROM ${BASE_IMAGE} AS builder

ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1

# binutils (strip, readelf) for tools/prune_venv.py; the builder only.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends binutils \
    && rm -rf /var/lib/apt/lists/*

# A venv without pip; the base's pip installs into it (--python), so no pip reaches the image.
# --no-compile: byte-compiled below, after pruning, as hash-based .pyc (reproducible, and valid
# whatever the files' mtimes after COPY --from).
COPY requirements.lock /tmp/requirements.lock
RUN python -m venv --without-pip /opt/venv \
    && python -m pip --python /opt/venv/bin/python install --no-deps --no-compile --require-hashes \
        -r /tmp/requirements.lock

# Prune what the runtime never loads (tests, headers, pyarrow's Flight and S3, symbol tables,
# …: see the script; tests/integration/test_container.py runs the demo, charts included), drop
# the dependencies' console scripts, then byte-compile what is left as hash-based .pyc
# (reproducible, and valid whatever the files' mtimes after COPY --from).
COPY tools/prune_venv.py /tmp/prune_venv.py
RUN site=$(/opt/venv/bin/python -c 'import sysconfig; print(sysconfig.get_path("purelib"))') \
    && /opt/venv/bin/python /tmp/prune_venv.py "$site" \
    && find /opt/venv/bin -mindepth 1 -not -name 'python*' -delete \
    && /opt/venv/bin/python -m compileall -q -j 0 --invalidation-mode unchecked-hash "$site"

FROM ${BASE_IMAGE}

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PATH=/opt/venv/bin:$PATH \
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
# Dependencies first (from requirements.lock, pinned with hashes), so code changes reuse this layer.
COPY --from=builder /opt/venv /opt/venv

COPY entrypoint.py ./
COPY metasup ./metasup
RUN python -m compileall -q --invalidation-mode unchecked-hash metasup

# GitHub runs Docker actions as root and mounts the workspace; no USER switch (GitHub docs).
ENTRYPOINT ["python", "/opt/metasup/entrypoint.py"]
