# syntax=docker/dockerfile:1
# pushfix as a container: `docker build -t pushfix .`, then
#   docker run --rm -v "$PWD:/work" pushfix validate playbooks
# The image holds the binary and nothing else: no playbook, ledger, credential or state. Those
# come at run time (a bind mount or a volume; credentials as environment variables), see
# docs/kubernetes.md. No secret is passed to the build: nothing here needs one.

# Build stage: the same command README's install uses (`cargo install --locked --path .`),
# on the Debian release the runtime image is made from, so the binary's glibc matches.
FROM rust:1.89-bookworm AS build
WORKDIR /src
# Only what the binary is built from (the tests, fixtures and docs are not needed; see
# .dockerignore): a change to them does not invalidate the build layer.
COPY Cargo.toml Cargo.lock ./
COPY src ./src
# The registry cache is kept between builds by BuildKit; the crates come from crates.io.
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    cargo install --locked --path . --root /out \
 && /out/bin/pushfix --version

# Runtime stage: distroless "cc" has glibc, libgcc and the CA certificates TLS to the
# providers needs (rustls verifies against the system store), and no shell or package manager.
FROM gcr.io/distroless/cc-debian12:nonroot
COPY --from=build /out/bin/pushfix /usr/local/bin/pushfix
# The distroless non-root user, by number so Kubernetes' runAsNonRoot can check it.
USER 65532:65532
# Playbooks are mounted here; paths in them are relative to the playbook, audit/ to this.
WORKDIR /work
ENTRYPOINT ["/usr/local/bin/pushfix"]
CMD ["--help"]
