# The balancer of docker-compose.yml: Debian's nginx with deploy/nginx's configuration.
ARG BASE=debian:bookworm-slim
FROM ${BASE}
RUN apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends nginx-light \
    && rm -rf /var/lib/apt/lists/* /etc/nginx/sites-enabled/*
COPY deploy/nginx/nginx.conf /etc/nginx/nginx.conf
COPY deploy/nginx/proxy.conf /etc/nginx/layerlab-proxy.conf
EXPOSE 80
CMD ["nginx", "-g", "daemon off;"]
