#!/usr/bin/env bash
# Deploys one service, in two steps. A pipeline runs them as two stages; a deploy by hand (or a
# rollback, DEPLOY.md) runs them back to back.
#
#   decide  stops if the service is pinned, reads the app's SSM parameters once, bundles and
#           fingerprints the service (npm run affected) and says whether anything changed. Needs
#           node_modules, no Docker and no deploy rights: a pipeline runs it on Lambda compute,
#           which starts in seconds, and stops there when nothing changed. Leaves its decision in
#           .deploy/ and the bundles in dist/ for the ship step.
#   ship    builds and pushes the image unless ECR has it, then deploys: when the stack's own part
#           of the fingerprint is the one CloudFormation last deployed, only the functions' image
#           changes (UpdateFunctionCode and its waiter); otherwise `cdk deploy` of the stack alone.
#           Records the fingerprint. A failed deploy puts each function back on the image it ran.
#
#   bash infra/buildspecs/deploy-service.sh --step decide|ship     a pipeline: all from the environment
#   npm run deploy -- <command|query> [-c key=value ...]          by hand, with the caller's credentials
#
# Environment (the pipeline stack sets the first eight; by hand they follow from the service):
#   SERVICE, STACK, REPOSITORY_URI, FUNCTIONS (space-separated), FINGERPRINT_PARAMETER,
#   STACK_PARAMETER, PINNED_PARAMETER, BASE_REGISTRY (where the Dockerfiles' base images come
#   from; the pipelines' pull-through cache, public.ecr.aws when unset)
#   PARAMETERS_PATH       SSM path of the app's parameters (default /cqrs-es/)
#   PIN_REASON            rollback: pin the service at this tree's fingerprint, then deploy it
#   EXPECTED_FINGERPRINT  ship: the fingerprint the decide stage announced (a pipeline passes it)
#   DEPS_BUCKET           ship: where restore-deps.sh finds node_modules when a stack deploy needs them
# `-c key=value` overrides a setting stored in SSM for this deploy (DEPLOY.md, "Settings").
set -euo pipefail

step=all
if [ $# -gt 0 ] && [ "$1" = --step ]; then
  step=${2:-}
  case "$step" in
    decide | ship) shift 2 ;;
    *) echo "--step takes decide or ship" >&2; exit 2 ;;
  esac
fi
if [ $# -gt 0 ] && [ "${1#-}" = "$1" ]; then
  # By hand: the same names the pipeline stack gives the build (infra/lib/names.ts; a test keeps
  # the two in step), the repository in the caller's account and region.
  SERVICE=$1
  shift
  case "$SERVICE" in
    command) STACK=${STACK:-CommandStack}; FUNCTIONS=${FUNCTIONS:-cqrs-es-command} ;;
    query) STACK=${STACK:-QueryStack}; FUNCTIONS=${FUNCTIONS:-cqrs-es-query cqrs-es-projector} ;;
    *) echo "unknown service $SERVICE (known: command, query)" >&2; exit 2 ;;
  esac
  FINGERPRINT_PARAMETER=${FINGERPRINT_PARAMETER:-/cqrs-es/deployed/$SERVICE}
  STACK_PARAMETER=${STACK_PARAMETER:-/cqrs-es/deployed-stack/$SERVICE}
  PINNED_PARAMETER=${PINNED_PARAMETER:-/cqrs-es/pinned/$SERVICE}
  if [ -z "${REPOSITORY_URI:-}" ]; then
    region=${AWS_REGION:-${AWS_DEFAULT_REGION:-$(aws configure get region || true)}}
    if [ -z "$region" ]; then echo "set AWS_REGION to the region to deploy to" >&2; exit 2; fi
    account=$(aws sts get-caller-identity --query Account --output text)
    REPOSITORY_URI=$account.dkr.ecr.$region.amazonaws.com/cqrs-es-$SERVICE
  fi
fi
: "${SERVICE:?}" "${STACK:?}" "${REPOSITORY_URI:?}" "${FUNCTIONS:?}" "${FINGERPRINT_PARAMETER:?}" "${STACK_PARAMETER:?}" "${PINNED_PARAMETER:?}"
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
# The decision, handed from the decide stage to the ship stage inside the pipeline's artifact.
state=.deploy
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# A rolled-back service stays rolled back until someone deletes the pin on purpose. Only a
# missing parameter means "not pinned": any other failure to read it stops the deploy.
check_pin() {
  local pinned
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
}

# sha256 and path of every file of the given bundles that an image copies (.dockerignore leaves
# out source maps, meta.json and compile caches), one per line, in a fixed order.
bundle_files() {
  node -e '
    const { createHash } = require("node:crypto");
    const { readdirSync, readFileSync } = require("node:fs");
    const { join } = require("node:path");
    const lines = [];
    const walk = (dir) => {
      for (const entry of readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
        const path = join(dir, entry.name);
        if (entry.isDirectory()) { if (entry.name !== "compile-cache") walk(path); }
        else if (!entry.name.endsWith(".map") && entry.name !== "meta.json") lines.push(`${createHash("sha256").update(readFileSync(path)).digest("hex")}  ${path}`);
      }
    };
    for (const bundle of process.argv.slice(1)) walk(join("dist", bundle));
    console.log(lines.join("\n"));
  ' "$@"
}

# The value of a fingerprint parameter, "none" when it does not exist; any other failure stops.
# The stack part CloudFormation holds, from the stack parameter ("<stack part> <fingerprint>",
# written with every deploy) and the deployed fingerprint: "unknown" when the two do not go
# together, because a deploy this script did not record came since (a rollback with the script of
# a release before, say). Then the next deploy is a stack deploy.
stack_of() {
  local stack fingerprint
  read -r stack fingerprint <<<"$1"
  if [ -n "$fingerprint" ] && [ "$fingerprint" = "$2" ]; then echo "$stack"; else echo unknown; fi
}

recorded() {
  local value
  if value=$(aws ssm get-parameter --name "$1" --query Parameter.Value --output text 2>"$work/recorded.err"); then
    echo "$value"
  elif grep -q ParameterNotFound "$work/recorded.err"; then
    echo none
  else
    cat "$work/recorded.err" >&2
    echo "cannot read $1: stopping before anything changes" >&2
    return 1
  fi
}

# A field of the service's entry in the report the decide step wrote.
field() { node -e 'const r = JSON.parse(require("node:fs").readFileSync(process.argv[1], "utf8"))[process.argv[2]]; const v = r[process.argv[3]]; console.log(typeof v === "object" ? JSON.stringify(v) : v)' "$state/report.json" "$SERVICE" "$1"; }

decide() {
  rm -rf "$state"
  mkdir -p "$state"
  check_pin
  # Settings, ids of shared resources and the deployed fingerprints, in one read. The fingerprint
  # covers the settings and the ids the stack resolves at deploy time.
  if ! aws ssm get-parameters-by-path --path "$parameters_path" --recursive --query Parameters --output json >"$state/parameters.json" 2>"$work/read.err"; then
    cat "$work/read.err" >&2
    echo "cannot read the deployed fingerprint and settings under $parameters_path (the caller needs ssm:GetParametersByPath there): stopping" >&2
    exit 1
  fi
  # The value of one parameter of that read ("" when absent).
  listed() {
    node -e '
      const [file, name] = process.argv.slice(1);
      const found = JSON.parse(require("node:fs").readFileSync(file, "utf8")).find((p) => p.Name === name);
      console.log(found ? found.Value : "");
    ' "$state/parameters.json" "$1"
  }
  node -e 'console.log(JSON.stringify({ [process.argv[1]]: process.argv[2] || "none" }))' "$SERVICE" "$(listed "$FINGERPRINT_PARAMETER")" >"$work/deployed.json"

  # The image is built from dist/: --build bundles the service's bundles into it from this tree,
  # and --check-dist verifies they are exactly the bundles the fingerprint (the image tag) names.
  npm run -s affected -- "$SERVICE" --parameters "$state/parameters.json" --deployed "$work/deployed.json" --build --check-dist ${overrides[@]+"${overrides[@]}"} >"$state/report.json"
  local fingerprint deployed changed stack deployed_stack
  fingerprint=$(field fingerprint)
  deployed=$(field deployed)
  changed=$(field changed)
  stack=$(field stack)
  deployed_stack=$(stack_of "$(listed "$STACK_PARAMETER")" "$deployed")

  # With the JWT authorizer on, API Gateway finds the token keys through the issuer's OpenID
  # configuration, not jwksUrl: stop before anything changes when the two disagree (DEPLOY.md, "Settings").
  if [ "$changed" = "true" ]; then
    node infra/check-identity-provider.ts "$(field settings)"
  fi

  if [ -n "$pin_reason" ]; then
    aws ssm put-parameter --name "$PINNED_PARAMETER" --type String --overwrite --value "$fingerprint: $pin_reason" >/dev/null
    echo "$SERVICE pinned at $fingerprint: pipelines will not deploy it until the pin is deleted."
  fi

  # shellcheck disable=SC2046 # bundle names are plain words
  bundle_files $(node -e 'console.log(Object.keys(JSON.parse(process.argv[1])).join(" "))' "$(field bundles)") >"$state/bundles.sha256"
  # Sourced by decide.yml and the ship step: every value quoted, so what SSM holds stays data.
  local stack_changed=true
  if [ "$stack" = "$deployed_stack" ]; then stack_changed=false; fi
  printf '%s=%q\n' CHANGED "$changed" FINGERPRINT "$fingerprint" DEPLOYED "$deployed" STACK_FINGERPRINT "$stack" \
    DEPLOYED_STACK "$deployed_stack" STACK_CHANGED "$stack_changed" >"$state/decision.env"

  if [ "$changed" != "true" ]; then
    echo "$SERVICE is unchanged (fingerprint $fingerprint is deployed): nothing to build or deploy."
  elif [ "$stack" = "$deployed_stack" ]; then
    echo "$SERVICE changed: deployed ${deployed}, now ${fingerprint}; its stack did not (the image alone changes)."
  else
    echo "$SERVICE changed: deployed ${deployed}, now ${fingerprint}; its stack too (a CloudFormation deploy)."
  fi
}

# The image each function runs now ("<function> <image uri>" lines); nothing for a function that
# does not exist yet (a first deploy). Any other failure to read one stops the deploy before it
# changes anything: a function missing here would not be put back after a failure.
function_images() {
  local fn uri
  for fn in $FUNCTIONS; do
    if uri=$(aws lambda get-function --function-name "$fn" --query Code.ImageUri --output text 2>"$work/get-function.err"); then
      echo "$fn $uri"
    elif ! grep -q ResourceNotFoundException "$work/get-function.err"; then
      cat "$work/get-function.err" >&2
      echo "cannot read the image $fn runs: stopping before anything changes (start the pipeline again)" >&2
      return 1
    fi
  done
}

# Points each function ("<function> <image uri>" lines on stdin) at its image where it runs
# another, then waits until Lambda has them all (the function-updated waiter). Returns non-zero
# at the first call that fails (callers test it, which turns off set -e in here).
point_functions() {
  local fn uri now updated=()
  while read -r fn uri; do
    [ -n "$fn" ] || continue
    now=$(aws lambda get-function --function-name "$fn" --query Code.ImageUri --output text) || return 1
    if [ "$now" != "$uri" ]; then
      aws lambda update-function-code --function-name "$fn" --image-uri "$uri" --query LastUpdateStatus --output text >/dev/null || return 1
      updated+=("$fn")
    fi
  done
  for fn in ${updated[@]+"${updated[@]}"}; do aws lambda wait function-updated-v2 --function-name "$fn" || return 1; done
}

# After a failed deploy: each function back on the image it ran before, then stop.
restore_and_stop() {
  local before=$1 why=$2
  echo "$why: putting each function back on the image it ran" >&2
  if ! point_functions <<<"$before"; then
    echo "could not put every function back: compare aws lambda get-function --function-name <name> with" >&2
    printf '  %s\n' "$before" >&2
  fi
  echo "$SERVICE was not deployed: nothing recorded (see the lines above for why)" >&2
  exit 1
}

ship() {
  if [ ! -f "$state/decision.env" ]; then
    echo "no decision in $state/: run the decide step first (bash infra/buildspecs/deploy-service.sh --step decide)" >&2
    exit 1
  fi
  local CHANGED FINGERPRINT DEPLOYED STACK_FINGERPRINT DEPLOYED_STACK STACK_CHANGED
  # shellcheck disable=SC1091 # written by decide above
  source "$state/decision.env"
  if [ "$CHANGED" != "true" ]; then return 0; fi
  if [ -n "${EXPECTED_FINGERPRINT:-}" ] && [ "$EXPECTED_FINGERPRINT" != "$FINGERPRINT" ]; then
    echo "the decide stage announced $EXPECTED_FINGERPRINT but its artifact holds $FINGERPRINT: stopping (start the pipeline again)" >&2
    exit 1
  fi
  # In a pipeline, a pin written since the decision still stops the deploy.
  if [ "$step" = ship ]; then check_pin; fi
  # (an empty list would check nothing: every image ships at least one bundle)
  if ! grep -q . "$state/bundles.sha256" || [ "$(bundle_files $(cut -d/ -f2 "$state/bundles.sha256" | sort -u))" != "$(cat "$state/bundles.sha256")" ]; then
    echo "dist/ no longer holds the bundles fingerprint $FINGERPRINT was computed from: stopping (start the pipeline again)" >&2
    exit 1
  fi

  local registry=${REPOSITORY_URI%%/*} repository=${REPOSITORY_URI#*/} image="$REPOSITORY_URI:$FINGERPRINT"
  if aws ecr describe-images --repository-name "$repository" --image-ids "imageTag=$FINGERPRINT" >/dev/null 2>"$work/describe.err"; then
    # Tags are immutable and name content: an image with this fingerprint is this image (so a
    # rollback to a tree deployed before needs no Docker).
    echo "image $FINGERPRINT is already in $repository"
  elif ! grep -q ImageNotFoundException "$work/describe.err"; then
    # Not "absent" but unknown: a push would fail on the immutable tag if the image is there.
    cat "$work/describe.err" >&2
    echo "cannot tell whether ECR holds image $FINGERPRINT: stopping before anything changes (start the pipeline again)" >&2
    exit 1
  else
    aws ecr get-login-password | docker login --username AWS --password-stdin "$registry"
    local base=()
    if [ -n "${BASE_REGISTRY:-}" ]; then base=(--build-arg "BASE_REGISTRY=$BASE_REGISTRY"); fi
    # One architecture, no attestation manifests: Lambda rejects image indexes.
    docker build --platform linux/arm64 --provenance=false ${base[@]+"${base[@]}"} -f "Dockerfile.$SERVICE" -t "$image" .
    docker push "$image"
  fi

  # Again right before anything changes: a rollback (pin) made while the image was built wins.
  check_pin
  # What is deployed now, not what was when the decision was made: another run, a deploy by hand
  # or a retried older run may have deployed since (CodePipeline decides one run while it ships
  # the one before). The stack part is compared with the stack CloudFormation has now.
  local now_deployed now_stack
  now_deployed=$(recorded "$FINGERPRINT_PARAMETER")
  now_stack=$(stack_of "$(recorded "$STACK_PARAMETER")" "$now_deployed")
  if [ "$now_deployed" = "$FINGERPRINT" ]; then
    echo "$SERVICE: $FINGERPRINT has been deployed since the decision: nothing to do."
    return 0
  fi
  if [ "$now_stack" != "${DEPLOYED_STACK:-$now_stack}" ]; then
    echo "$SERVICE: its stack was deployed since the decision (${DEPLOYED_STACK} then, ${now_stack} now): comparing with the stack deployed now"
  fi
  if [ "$STACK_FINGERPRINT" = "$now_stack" ]; then STACK_CHANGED=false; else STACK_CHANGED=true; fi
  local before wanted fn
  before=$(function_images) || exit 1
  wanted=$(for fn in $FUNCTIONS; do echo "$fn $image"; done)
  if [ "$STACK_CHANGED" = "true" ]; then
    if [ ! -d node_modules ]; then bash infra/buildspecs/restore-deps.sh; fi
    # (a read loop, not mapfile: macOS's /bin/bash is 3.2)
    local settings=() line
    while IFS= read -r line; do settings+=("$line"); done < <(node -e 'for (const [key, value] of Object.entries(JSON.parse(process.argv[1]))) console.log(`-c\n${key}=${value}`)' "$(field settings)")
    # The stack alone, with the caller's own credentials; CloudFormation acts as the service's
    # deploy role (ServiceDeploySynthesizer in infra/lib). A failed update rolls the stack back
    # to the image CloudFormation last deployed, which may be older than the one that ran.
    if ! npx cdk deploy "$STACK" --exclusively --require-approval never ${settings[@]+"${settings[@]}"} -c "${SERVICE}ImageTag=$FINGERPRINT"; then
      restore_and_stop "$before" "cdk deploy $STACK failed"
    fi
    # CloudFormation changes an image only when the tag in its template changed; after deploys
    # of the image alone, the function may run another one than the template names.
    point_functions <<<"$wanted" || restore_and_stop "$before" "the functions did not take image $FINGERPRINT"
  else
    # The stack is as CloudFormation last deployed it: only the image changes.
    point_functions <<<"$wanted" || restore_and_stop "$before" "the functions did not take image $FINGERPRINT"
  fi
  # The commit goes with the fingerprint, so the parameter's history tells what to roll back to;
  # the stack part goes with the fingerprint it was deployed with (stack_of).
  aws ssm put-parameter --name "$FINGERPRINT_PARAMETER" --value "$FINGERPRINT" --type String --overwrite \
    --description "source ${CODEBUILD_RESOLVED_SOURCE_VERSION:-${SOURCE_VERSION:-unknown}}" >/dev/null
  aws ssm put-parameter --name "$STACK_PARAMETER" --value "$STACK_FINGERPRINT $FINGERPRINT" --type String --overwrite >/dev/null
  echo "$SERVICE deployed: $FINGERPRINT"
}

case "$step" in
  decide) decide ;;
  ship) ship ;;
  all) decide; ship ;;
esac
