# PostgreSQL for docker-compose.yml: Debian's postgresql (15 in bookworm); a new data volume
# is initialised on first start (deploy/postgres-entrypoint.sh).
ARG BASE=debian:bookworm-slim
FROM ${BASE}
RUN apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends postgresql \
    && rm -rf /var/lib/apt/lists/* \
    && install -d -o postgres -g postgres /var/lib/layerlab-pg /run/postgresql
COPY deploy/postgres-entrypoint.sh /usr/local/bin/postgres-entrypoint
ENV PGDATA=/var/lib/layerlab-pg/data
USER postgres
EXPOSE 5432
CMD ["postgres-entrypoint"]
