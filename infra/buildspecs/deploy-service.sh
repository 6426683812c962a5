#!/usr/bin/env bash
# Deploys one service: the deploy step of its pipeline (CodeBuild, after `npm ci` and `npm test`),
# and the way to deploy it by hand or roll it back (DEPLOY.md). Never while the service is pinned
# (unless pinning it is the point), and only when its fingerprint differs from the deployed one.
#
#   bash infra/buildspecs/deploy-service.sh                       the pipeline: all from the environment
#   npm run deploy -- <command|query> [-c key=value ...]          by hand, with the caller's credentials
#
# Environment (the pipeline stack sets the first five; by hand they follow from the service):
#   SERVICE, STACK, REPOSITORY_URI, FINGERPRINT_PARAMETER, PINNED_PARAMETER
#   PARAMETERS_PATH  SSM path of the app's parameters (default /cqrs-es/)
#   PIN_REASON       rollback: pin the service at this tree's fingerprint, then deploy it
# `-c key=value` overrides a setting stored in SSM for this deploy (DEPLOY.md, "Settings").
set -euo pipefail

if [ $# -gt 0 ] && [ "${1#-}" = "$1" ]; then
  # By hand: the same names the pipeline stack gives the build (infra/lib/names.ts; a test keeps
  # the two in step), the repository in the caller's account and region.
  SERVICE=$1
  shift
  case "$SERVICE" in
    command) STACK=${STACK:-CommandStack} ;;
    query) STACK=${STACK:-QueryStack} ;;
    *) echo "unknown service $SERVICE (known: command, query)" >&2; exit 2 ;;
  esac
  FINGERPRINT_PARAMETER=${FINGERPRINT_PARAMETER:-/cqrs-es/deployed/$SERVICE}
  PINNED_PARAMETER=${PINNED_PARAMETER:-/cqrs-es/pinned/$SERVICE}
  if [ -z "${REPOSITORY_URI:-}" ]; then
    region=${AWS_REGION:-${AWS_DEFAULT_REGION:-$(aws configure get region || true)}}
    if [ -z "$region" ]; then echo "set AWS_REGION to the region to deploy to" >&2; exit 2; fi
    account=$(aws sts get-caller-identity --query Account --output text)
    REPOSITORY_URI=$account.dkr.ecr.$region.amazonaws.com/cqrs-es-$SERVICE
  fi
fi
: "${SERVICE:?}" "${STACK:?}" "${REPOSITORY_URI:?}" "${FINGERPRINT_PARAMETER:?}" "${PINNED_PARAMETER:?}"
overrides=()
while [ $# -gt 0 ]; do
  case "$1" in
    -c | --context)
      if [ $# -lt 2 ] || [ "${2#*=}" = "$2" ]; then echo "$1 needs key=value" >&2; exit 2; fi
      overrides+=(-c "$2")
      shift 2 ;;
    *) echo "unexpected argument $1 (only -c key=value may follow the service)" >&2; exit 2 ;;
  esac
done
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

# The image is built from dist/: --build bundles the service's bundles into it from this tree,
# and --check-dist verifies they are exactly the bundles the fingerprint (the image tag) names.
report=$(npm run -s affected -- "$SERVICE" --parameters "$work/parameters.json" --deployed "$work/deployed.json" --build --check-dist "${overrides[@]}")
field() { node -e 'const r = JSON.parse(process.argv[1])[process.argv[2]]; console.log(r[process.argv[3]])' "$report" "$SERVICE" "$1"; }
fingerprint=$(field fingerprint)
deployed=$(field deployed)
# The settings the fingerprint was computed with, as `-c key=value` for cdk deploy.
mapfile -t settings < <(node -e '
  const settings = JSON.parse(process.argv[1])[process.argv[2]].settings;
  for (const [key, value] of Object.entries(settings)) console.log(`-c\n${key}=${value}`);
' "$report" "$SERVICE")

# With the JWT authorizer on, API Gateway finds the token keys through the issuer's OpenID
# configuration, not jwksUrl: stop before anything changes when the two disagree (DEPLOY.md, "Settings").
if [ "$(field changed)" = "true" ]; then
  node infra/check-identity-provider.ts "$(node -e 'console.log(JSON.stringify(JSON.parse(process.argv[1])[process.argv[2]].settings))' "$report" "$SERVICE")"
fi

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

# The stack alone, with the caller's own credentials; CloudFormation acts as the service's deploy
# role (ServiceDeploySynthesizer in infra/lib).
npx cdk deploy "$STACK" --exclusively --require-approval never "${settings[@]}" -c "${SERVICE}ImageTag=$fingerprint"
# The commit goes with the fingerprint, so the parameter's history tells what to roll back to.
aws ssm put-parameter --name "$FINGERPRINT_PARAMETER" --value "$fingerprint" --type String --overwrite \
  --description "source ${CODEBUILD_RESOLVED_SOURCE_VERSION:-${SOURCE_VERSION:-unknown}}" >/dev/null
echo "$SERVICE deployed: $fingerprint"
