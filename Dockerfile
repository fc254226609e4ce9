# LayerLab, CPU image:  docker build -t layerlab . && docker run -p 8000:8000 layerlab
#
# Built FROM Debian (its python3 is 3.11 in bookworm), no other registry image:
#   BASE=debian:bookworm-slim (the default) where Docker Hub is reachable; where no registry is,
#   build the same base from Debian's packages first (deploy/base-image.sh: debootstrap, then
#   `docker import`) and pass --build-arg BASE=layerlab-base:bookworm.
# PyTorch: pip takes a torch wheel from deploy/wheels/ when one is there (e.g. a CPU wheel copied
#   from a local wheelhouse: no download), else from TORCH_INDEX, e.g. PyTorch's CPU wheel index
#   (docker build --build-arg TORCH_INDEX=<PyTorch CPU wheel index URL> -t layerlab .), else
#   from PyPI, whose torch wheels carry CUDA: then run `docker run --gpus all -p 8000:8000
#   layerlab` with the NVIDIA container toolkit on the host, and device "auto" trains on the GPU.
# Extras: EXTRAS=ray,replicas for the Ray backend and replicas (docker-compose.yml builds it so).
ARG BASE=debian:bookworm-slim
FROM ${BASE}
ARG TORCH_INDEX=""
ARG EXTRAS=""

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PATH=/opt/layerlab/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    LAYERLAB_HOST=0.0.0.0 LAYERLAB_PORT=8000 LAYERLAB_STATE_DIR=/data/state \
    LAYERLAB_DATA_DIR=/data/datasets LAYERLAB_CACHE_DIR=/data/cache
# A site's own CA certificates (deploy/certs/*.crt, e.g. an HTTPS proxy's), trusted by pip too.
COPY deploy/certs /usr/local/share/ca-certificates/site
RUN apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
       python3 python3-venv ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && update-ca-certificates \
    && python3 -m venv /opt/layerlab
ENV PIP_CERT=/etc/ssl/certs/ca-certificates.crt
WORKDIR /app

COPY deploy/wheels /tmp/wheels
RUN pip install --no-cache-dir --find-links /tmp/wheels \
      ${TORCH_INDEX:+--extra-index-url "$TORCH_INDEX"} "torch>=2.5,<2.14" \
    && rm -rf /tmp/wheels
COPY pyproject.toml setup.py README.md ./
COPY server ./server
COPY static ./static
COPY templates ./templates
RUN pip install --no-cache-dir ".${EXTRAS:+[$EXTRAS]}"

VOLUME /data
EXPOSE 8000
CMD ["layerlab", "serve", "--host", "0.0.0.0"]
