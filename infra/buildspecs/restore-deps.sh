#!/usr/bin/env bash
# node_modules for this lockfile, Node.js major version and platform: unpacked from the pipelines'
# build cache bucket when it holds them (seconds), else installed with `npm ci` and the part a
# build needs (deploy-packages.mjs) stored there for the next build. The decide stage runs it
# first; the ship stage only before a stack deploy.
#
# Environment: DEPS_BUCKET, the build cache bucket (the pipeline stack sets it).
set -euo pipefail
: "${DEPS_BUCKET:?set DEPS_BUCKET to the pipelines build cache bucket (PipelinesStack sets it for the builds)}"

# The key names the lockfile, what is kept of it and the platform the packages were installed for.
key=deps/$(node -e '
  const { createHash } = require("node:crypto");
  const { readFileSync } = require("node:fs");
  const hash = createHash("sha256");
  for (const file of ["package-lock.json", "package.json", "infra/buildspecs/deploy-packages.mjs"]) hash.update(readFileSync(file));
  console.log(`${hash.digest("hex").slice(0, 32)}-${process.platform}-${process.arch}-node${process.versions.node.split(".")[0]}.tgz`);
')
# Only node_modules/ comes out of the archive: whoever may write the bucket must not be able to
# rewrite the tree (its scripts, or the ship stage's buildspec in the decide stage's artifact).
if aws s3 cp "s3://$DEPS_BUCKET/$key" - --only-show-errors 2>/dev/null | tar -xzf - --no-same-owner node_modules; then
  echo "node_modules restored from s3://$DEPS_BUCKET/$key"
else
  # Not cached yet (or cut short): install from the lockfile, then store it for the next build.
  rm -rf node_modules
  # (On Lambda compute only /tmp is writable outside the source folder.)
  if [ ! -w "${HOME:-/nonexistent}" ]; then export npm_config_cache=/tmp/npm-cache; fi
  npm ci --no-audit --no-fund
  # Only what a build needs (deploy-packages.mjs), and the commands npm linked for them.
  scratch=$(mktemp -d)
  trap 'rm -rf "$scratch"' EXIT
  node infra/buildspecs/deploy-packages.mjs >"$scratch/packages"
  if [ -d node_modules/.bin ]; then echo node_modules/.bin >>"$scratch/packages"; fi
  # Written once: the bucket takes a new object only with If-None-Match (its policy refuses any
  # other write), so an object under a key is the one the first build of that lockfile stored.
  # Storing is a favour to the next build: this one goes on whatever happens to it.
  if ! tar -czf "$scratch/deps.tgz" -T "$scratch/packages" 2>"$scratch/put.err"; then
    cat "$scratch/put.err" >&2
    echo "could not pack node_modules for the build cache; the next build installs them again" >&2
  elif aws s3api put-object --bucket "$DEPS_BUCKET" --key "$key" --body "$scratch/deps.tgz" --if-none-match '*' >/dev/null 2>"$scratch/put.err"; then
    echo "node_modules stored as s3://$DEPS_BUCKET/$key"
  elif grep -q PreconditionFailed "$scratch/put.err"; then
    echo "node_modules for this lockfile were stored meanwhile by another build; kept as stored"
  else
    cat "$scratch/put.err" >&2
    echo "could not store node_modules in the build cache; the next build installs them again" >&2
  fi
fi
