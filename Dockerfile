# LayerLab, CPU image:  docker build -t layerlab . && docker run -p 8000:8000 layerlab
#
# Small CPU image: pass PyTorch's CPU wheel index as TORCH_INDEX
#   (docker build --build-arg TORCH_INDEX=<PyTorch CPU wheel index URL> -t layerlab .).
# CUDA variant: leave TORCH_INDEX empty (PyPI's torch wheels carry CUDA) and run
#   docker run --gpus all -p 8000:8000 layerlab
# with the NVIDIA container toolkit on the host: device "auto" then trains on the GPU.
# Ray backend: --build-arg EXTRAS=ray; docker-compose.yml runs that image as a Ray cluster.
ARG BASE=python:3.11-slim
FROM ${BASE}
ARG TORCH_INDEX=""
# Optional extras, e.g. EXTRAS=ray for the Ray backend (docker-compose.yml builds it so).
ARG EXTRAS=""

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 \
    LAYERLAB_HOST=0.0.0.0 LAYERLAB_PORT=8000 LAYERLAB_STATE_DIR=/data/state \
    LAYERLAB_DATA_DIR=/data/datasets LAYERLAB_CACHE_DIR=/data/cache
WORKDIR /app

RUN pip install --no-cache-dir ${TORCH_INDEX:+--index-url "$TORCH_INDEX"} "torch>=2.5,<2.14"
COPY pyproject.toml setup.py README.md ./
COPY server ./server
COPY static ./static
COPY templates ./templates
RUN pip install --no-cache-dir ".${EXTRAS:+[$EXTRAS]}"

VOLUME /data
EXPOSE 8000
CMD ["layerlab", "serve", "--host", "0.0.0.0"]
