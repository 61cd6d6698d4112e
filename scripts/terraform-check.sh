#!/usr/bin/env bash
# The offline checks of infra-terraform/ (`make terraform`, part of `make test`):
#   1. terraform fmt -check, init -backend=false and validate, with the AWS provider from a
#      local filesystem mirror (no registry, no network) and nothing written into the repo;
#   2. checkov: zero failed checks (each skip is an inline, justified #checkov:skip);
#   3. tools/terraform/check_wiring.py: every contract rule, schema and IAM statement is
#      wired to the right resource;
#   4. tools/terraform/check_security.py (after its own tests): no wildcard grants beyond its
#      allow-list, encryption everywhere, no public bucket, rules pinned to mediasift's sources,
#      the bus open to this account only (docs/security.md).
# Without terraform (TERRAFORM, default `terraform` on PATH) step 1 cannot run: a loud banner,
# steps 2 and 3 still run, and the script fails when CI=true.
# The provider mirror: TF_PLUGIN_MIRROR, default /opt/tf-plugins (a folder holding
# registry.terraform.io/hashicorp/aws/<version>/<os_arch>/).
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\033[1mterraform-check:\033[0m %s\n' "$*"; }
die() { printf 'terraform-check: error: %s\n' "$*" >&2; exit 1; }

TERRAFORM=${TERRAFORM:-terraform}
skipped=false

if ! command -v "$TERRAFORM" >/dev/null 2>&1; then
  skipped=true
  printf '\n\033[1;31m%s\n%s\n%s\n%s\033[0m\n\n' \
    '######################################################################' \
    '##  TERRAFORM CHECKS SKIPPED: terraform not found                   ##' \
    '##  (fmt -check and validate did not run; install Terraform >= 1.6) ##' \
    '######################################################################' >&2
else
  mirror="${TF_PLUGIN_MIRROR:-/opt/tf-plugins}"
  if [ ! -d "$mirror/registry.terraform.io" ]; then
    found=$(find / -xdev -type d -name registry.terraform.io \
      -not -path '*/.terraform/*' -not -path '/proc/*' 2>/dev/null | head -n 1 || true)
    [ -n "$found" ] || die "no provider mirror: set TF_PLUGIN_MIRROR to a folder holding registry.terraform.io/hashicorp/aws/<version>/<os_arch>/"
    mirror=$(dirname "$found")
  fi
  step "provider mirror $mirror"

  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
  cat >"$work/cli.tfrc" <<EOF
provider_installation {
  filesystem_mirror {
    path    = "$mirror"
    include = ["registry.terraform.io/hashicorp/*"]
  }
}
EOF
  export TF_CLI_CONFIG_FILE="$work/cli.tfrc"
  export TF_DATA_DIR="$work/data"
  export TF_IN_AUTOMATION=1
  export CHECKPOINT_DISABLE=1

  step "terraform fmt -check"
  "$TERRAFORM" fmt -check -recursive -diff infra-terraform

  # init writes a lock file next to the root module: a copy of the tree (the root module and
  # the contracts it reads) keeps it, like .terraform, out of the repo.
  mkdir -p "$work/tree"
  cp -R infra-terraform contracts "$work/tree/"
  rm -rf "$work/tree/infra-terraform/.terraform" "$work/tree/infra-terraform/.terraform.lock.hcl"

  step "terraform init -backend=false (offline)"
  "$TERRAFORM" -chdir="$work/tree/infra-terraform" init -backend=false -input=false -no-color >"$work/init.log" 2>&1 \
    || { cat "$work/init.log" >&2; die "terraform init failed"; }

  step "terraform validate"
  "$TERRAFORM" -chdir="$work/tree/infra-terraform" validate -no-color
fi

step "checkov"
[ -x .venv/bin/checkov ] || die ".venv/bin/checkov is missing: run scripts/setup.sh"
.venv/bin/checkov -d infra-terraform --framework terraform --skip-download --compact --quiet

step "contract wiring"
.venv/bin/python tools/terraform/check_wiring.py

step "security checker's own tests"
.venv/bin/python -m unittest discover -s tools/terraform -p 'test_*.py'

step "security"
.venv/bin/python tools/terraform/check_security.py

if [ "$skipped" = true ]; then
  step "checkov, wiring and security passed; TERRAFORM CHECKS SKIPPED (terraform not found)"
  [ "${CI:-}" = "true" ] && die "CI=true: terraform is required"
  exit 0
fi
step "all terraform checks passed"
