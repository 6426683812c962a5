# The command service: the write side alone, on Lambda behind the Lambda Web Adapter.
# Build (after `npm run build`):
#   docker build --platform linux/arm64 --provenance=false -f Dockerfile.command -t cqrs-command .
# Base images from ECR Public, or from the same images through the pipelines' pull-through cache
# (--build-arg BASE_REGISTRY=<account>.dkr.ecr.<region>.amazonaws.com/cqrs-es-public): in-region
# pulls, the same layers.
ARG BASE_REGISTRY=public.ecr.aws
FROM --platform=linux/arm64 ${BASE_REGISTRY}/awsguru/aws-lambda-adapter:0.9.1 AS adapter

# Not an AWS Lambda base image: their ENTRYPOINT would bypass the adapter.
FROM --platform=linux/arm64 ${BASE_REGISTRY}/docker/library/node:22.20.0-bookworm-slim
COPY --from=adapter /lambda-adapter /opt/extensions/lambda-adapter

ENV NODE_ENV=production \
    PORT=8080 \
    AWS_LWA_PORT=8080 \
    AWS_LWA_READINESS_CHECK_PATH=/command/v1/healthcheck \
    AWS_LWA_REMOVE_BASE_PATH=/Stage

WORKDIR /app
# The bundle is the whole application: no node_modules, no native addons, no toolchain.
COPY dist/command/ /app/command/

# Node's compile cache for this exact node binary, filled by the image's own node loading each
# bundle without starting it (src/entry/launch.ts): a cold start then skips parsing the bundle.
RUN ["node", "/app/command/index.mjs", "--prepare-compile-cache"]

USER node
ENTRYPOINT ["node"]
CMD ["/app/command/index.mjs"]
