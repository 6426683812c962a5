#!/usr/bin/env bash
# The deploy step of a service pipeline (CodeBuild, after `npm ci`, `npm test`, `npm run build`),
# also the rollback command (DEPLOY.md, "Rolling back"). Builds, pushes and deploys the service
# only when its fingerprint differs from the deployed one, and never while it is pinned.
#
# Environment (the pipeline stack sets all but the last two):
#   SERVICE, STACK, REPOSITORY_URI, FINGERPRINT_PARAMETER, PINNED_PARAMETER
#   PARAMETERS_PATH  SSM path of the app's parameters (default /cqrs-es/)
#   PIN_REASON       rollback: pin the service at this tree's fingerprint, then deploy it
set -euo pipefail
: "${SERVICE:?}" "${STACK:?}" "${REPOSITORY_URI:?}" "${FINGERPRINT_PARAMETER:?}" "${PINNED_PARAMETER:?}"
parameters_path=${PARAMETERS_PATH:-/cqrs-es/}
pin_reason=${PIN_REASON:-}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# A rolled-back service stays rolled back until someone deletes the pin on purpose. Only a
# missing parameter means "not pinned": any other failure to read it stops the deploy.
if pinned=$(aws ssm get-parameter --name "$PINNED_PARAMETER" --query Parameter.Value --output text 2>"$work/pin.err"); then
  if [ -z "$pin_reason" ]; then
    echo "$SERVICE is pinned ($pinned): nothing is deployed until it is released with" >&2
    echo "  aws ssm delete-parameter --name $PINNED_PARAMETER   (DEPLOY.md, \"Rolling back\")" >&2
    exit 1
  fi
elif ! grep -q ParameterNotFound "$work/pin.err"; then
  cat "$work/pin.err" >&2
  echo "cannot tell whether $SERVICE is pinned: stopping" >&2
  exit 1
fi

# Settings, ids of shared resources and the deployed fingerprint, in one read. The fingerprint
# covers the settings and the ids the stack resolves at deploy time.
aws ssm get-parameters-by-path --path "$parameters_path" --recursive --query Parameters --output json >"$work/parameters.json"
node -e '
  const [file, name, service] = process.argv.slice(1);
  const found = JSON.parse(require("node:fs").readFileSync(file, "utf8")).find((p) => p.Name === name);
  console.log(JSON.stringify({ [service]: found ? found.Value : "none" }));
' "$work/parameters.json" "$FINGERPRINT_PARAMETER" "$SERVICE" >"$work/deployed.json"

report=$(npm run -s affected -- "$SERVICE" --parameters "$work/parameters.json" --deployed "$work/deployed.json")
field() { node -e 'const r = JSON.parse(process.argv[1])[process.argv[2]]; console.log(r[process.argv[3]])' "$report" "$SERVICE" "$1"; }
fingerprint=$(field fingerprint)
deployed=$(field deployed)
# The settings the fingerprint was computed with, as `-c key=value` for cdk deploy.
mapfile -t settings < <(node -e '
  const settings = JSON.parse(process.argv[1])[process.argv[2]].settings;
  for (const [key, value] of Object.entries(settings)) console.log(`-c\n${key}=${value}`);
' "$report" "$SERVICE")

if [ -n "$pin_reason" ]; then
  aws ssm put-parameter --name "$PINNED_PARAMETER" --type String --overwrite --value "$fingerprint: $pin_reason" >/dev/null
  echo "$SERVICE pinned at $fingerprint: pipelines will not deploy it until the pin is deleted."
fi

if [ "$(field changed)" != "true" ]; then
  echo "$SERVICE is unchanged (fingerprint $fingerprint is deployed): nothing to build or deploy."
  exit 0
fi
echo "$SERVICE changed: deployed ${deployed}, now ${fingerprint}."

registry=${REPOSITORY_URI%%/*}
repository=${REPOSITORY_URI#*/}
if aws ecr describe-images --repository-name "$repository" --image-ids "imageTag=$fingerprint" >/dev/null 2>&1; then
  # Tags are immutable and name content: an image with this fingerprint is this image (so a
  # rollback to a tree deployed before needs no Docker).
  echo "image $fingerprint is already in $repository"
else
  aws ecr get-login-password | docker login --username AWS --password-stdin "$registry"
  # One architecture, no attestation manifests: Lambda rejects image indexes.
  docker build --platform linux/arm64 --provenance=false -f "Dockerfile.$SERVICE" -t "$REPOSITORY_URI:$fingerprint" .
  docker push "$REPOSITORY_URI:$fingerprint"
fi

# The stack alone, with this build's own credentials; CloudFormation acts as the service's
# deploy role (ServiceDeploySynthesizer in infra/lib).
npx cdk deploy "$STACK" --exclusively --require-approval never "${settings[@]}" -c "${SERVICE}ImageTag=$fingerprint"
# The commit goes with the fingerprint, so the parameter's history tells what to roll back to.
aws ssm put-parameter --name "$FINGERPRINT_PARAMETER" --value "$fingerprint" --type String --overwrite \
  --description "source ${CODEBUILD_RESOLVED_SOURCE_VERSION:-unknown}" >/dev/null
echo "$SERVICE deployed: $fingerprint"
