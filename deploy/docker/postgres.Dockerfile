# PostgreSQL from Debian's package, for the `postgres` profile of
# docker-compose.yml (several API hosts on one database). Same BASE as the
# service images, so it builds without a registry too.
ARG BASE=debian:bookworm-slim
FROM ${BASE}
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends postgresql-15 \
 && rm -rf /var/lib/apt/lists/* \
 && mkdir -p /var/lib/postgresql/data /run/postgresql \
 && chown -R postgres:postgres /var/lib/postgresql /run/postgresql
COPY docker/postgres-entrypoint /usr/local/bin/postgres-entrypoint
ENV PATH=/usr/lib/postgresql/15/bin:$PATH PGDATA=/var/lib/postgresql/data
VOLUME /var/lib/postgresql/data
USER postgres
EXPOSE 5432
HEALTHCHECK --interval=3s --timeout=3s --start-period=10s --retries=5 \
    CMD ["pg_isready", "-h", "127.0.0.1", "-p", "5432", "-U", "postgres"]
ENTRYPOINT ["/usr/local/bin/postgres-entrypoint"]
