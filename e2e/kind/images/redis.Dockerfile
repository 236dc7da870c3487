# Stand-in for the operator's default managed-backplane image where no
# registry is reachable: Debian's redis-server, taking the same arguments.
ARG DEBIAN_IMAGE=viewport-e2e/debian:bookworm
FROM ${DEBIAN_IMAGE}
RUN apt-get update -qq \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends redis-server >/dev/null \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /data
ENTRYPOINT ["redis-server"]
