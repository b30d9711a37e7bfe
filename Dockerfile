# A small runtime image of visearch, built from the Debian package (cmake/packaging.cmake).
#   docker build -t visearch .
#   docker run -p 8080:8080 -v /path/to/models:/var/lib/visearch/models:ro visearch
# Model weights are not in the image (their licences differ): mount them at /var/lib/visearch/models.
# Not built in this repository's CI: its machines have no container daemon.

# Build stage: the same install and build steps as ./test.sh, then the .deb.
FROM debian:12 AS build
WORKDIR /src
COPY . .
RUN apt-get update -qq && apt-get install -y -qq --no-install-recommends ca-certificates sudo \
 && ./tools/install-deps.sh \
 && cmake -S . -B /build -G Ninja -DCMAKE_BUILD_TYPE=Release -DVISEARCH_BUILD_TESTS=OFF -DVISEARCH_BUILD_BENCH=OFF \
 && cmake --build /build --target visearch \
 && cd /build && cpack -G DEB

# Runtime stage: Debian 12 slim plus the package and the libraries it depends on.
FROM debian:12-slim
COPY --from=build /build/visearch_*_amd64.deb /tmp/
RUN apt-get update -qq && apt-get install -y -qq --no-install-recommends curl /tmp/visearch_*_amd64.deb \
 && rm -rf /var/lib/apt/lists/* /tmp/*.deb \
 && mkdir -p /var/lib/visearch/models /var/lib/visearch/catalog \
 && useradd --system --home /var/lib/visearch visearch && chown -R visearch /var/lib/visearch
USER visearch
EXPOSE 8080
HEALTHCHECK CMD ["/usr/bin/curl", "-sf", "http://127.0.0.1:8080/ping"]
ENTRYPOINT ["/usr/bin/visearch", "serve", "--host", "0.0.0.0", "--port", "8080"]
