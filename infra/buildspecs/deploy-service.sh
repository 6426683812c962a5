#!/usr/bin/env bash
# The deploy step of a service pipeline (CodeBuild, after `npm ci`, `npm test`, `npm run build`).
# Builds, pushes and deploys the service only when its fingerprint differs from the deployed one.
# Environment: SERVICE, STACK, REPOSITORY_URI, FINGERPRINT_PARAMETER (set by the pipeline stack).
set -euo pipefail
: "${SERVICE:?}" "${STACK:?}" "${REPOSITORY_URI:?}" "${FINGERPRINT_PARAMETER:?}"
deployed_file=${DEPLOYED_FILE:-.deployed-fingerprints.json}

deployed=$(aws ssm get-parameter --name "$FINGERPRINT_PARAMETER" --query Parameter.Value --output text 2>/dev/null || echo none)
printf '{"%s":"%s"}\n' "$SERVICE" "$deployed" > "$deployed_file"

report=$(npm run -s affected -- "$SERVICE" --deployed "$deployed_file")
field() { node -e 'const r = JSON.parse(process.argv[1]); console.log(r[process.argv[2]][process.argv[3]])' "$report" "$SERVICE" "$1"; }
fingerprint=$(field fingerprint)

if [ "$(field changed)" != "true" ]; then
  echo "$SERVICE is unchanged (fingerprint $fingerprint is deployed): nothing to build or deploy."
  exit 0
fi
echo "$SERVICE changed: deployed ${deployed}, now ${fingerprint}."

registry=${REPOSITORY_URI%%/*}
repository=${REPOSITORY_URI#*/}
aws ecr get-login-password | docker login --username AWS --password-stdin "$registry"
if aws ecr describe-images --repository-name "$repository" --image-ids "imageTag=$fingerprint" >/dev/null 2>&1; then
  # Tags are immutable and name content: an image with this fingerprint is this image.
  echo "image $fingerprint is already in $repository"
else
  # One architecture, no attestation manifests: Lambda rejects image indexes.
  docker build --platform linux/arm64 --provenance=false -f "Dockerfile.$SERVICE" -t "$REPOSITORY_URI:$fingerprint" .
  docker push "$REPOSITORY_URI:$fingerprint"
fi

npx cdk deploy "$STACK" --exclusively --require-approval never -c "${SERVICE}ImageTag=$fingerprint"
aws ssm put-parameter --name "$FINGERPRINT_PARAMETER" --value "$fingerprint" --type String --overwrite >/dev/null
echo "$SERVICE deployed: $fingerprint"
