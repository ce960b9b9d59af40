# PostgreSQL from Debian's package, for the `postgres` profile of
# docker-compose.yml (several API hosts on one database). Same BASE as the
# service images, so it builds without a registry too.
#
# Two stages: the first installs postgresql-15 and removes what a server
# started by the entrypoint never loads (LLVM and its JIT bitcode, with
# `jit = off`; Perl beyond perl-base, which only postgresql-common's
# wrapper scripts use; translations, docs, charmaps); the second is that
# trimmed tree as one layer. dpkg's database still lists the removed
# files: extend this image by building on the first stage, not on it.
ARG BASE=debian:bookworm-slim
FROM ${BASE} AS install
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends postgresql-15 \
 && rm -rf /var/lib/apt/lists/* /var/cache/apt/* /var/cache/debconf/*-old \
    /usr/lib/x86_64-linux-gnu/libLLVM-* /usr/lib/x86_64-linux-gnu/libz3.so* \
    /usr/lib/postgresql/15/lib/llvmjit* /usr/lib/postgresql/15/lib/bitcode \
    /usr/share/perl /usr/lib/x86_64-linux-gnu/perl \
    /usr/share/locale/* /usr/share/doc/* /usr/share/man/* /usr/share/info/* /usr/share/i18n \
 && mkdir -p /var/lib/postgresql/data /run/postgresql \
 && chown -R postgres:postgres /var/lib/postgresql /run/postgresql
COPY docker/postgres-entrypoint /usr/local/bin/postgres-entrypoint

FROM scratch
COPY --from=install / /
ENV PATH=/usr/lib/postgresql/15/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    PGDATA=/var/lib/postgresql/data
VOLUME /var/lib/postgresql/data
USER postgres
EXPOSE 5432
HEALTHCHECK --interval=3s --timeout=3s --start-period=10s --retries=5 \
    CMD ["pg_isready", "-h", "127.0.0.1", "-p", "5432", "-U", "postgres"]
ENTRYPOINT ["/usr/local/bin/postgres-entrypoint"]
