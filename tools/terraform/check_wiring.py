#!/usr/bin/env python3
"""Proves, from the HCL alone (python-hcl2), that infra-terraform/ deploys what contracts/ says.

1. Services: contracts/rules/, contracts/iam/, the root's `local.services` and the default of
   `var.reserved_concurrency` name the same services, and `module "services"` makes one
   instance per service.
2. Rules: the root hands each instance its own contracts/rules/<service>.json; the service
   module makes one `aws_cloudwatch_event_rule` per entry of that file, unfiltered, with the
   entry's pattern, on the custom bus, each targeting the service's function (with a retry
   policy and a dead-letter queue) and allowed to invoke it. Every rule of every file is
   listed with the resource address it becomes. Rules on AWS services' events (aws.*) also
   need those events forwarded from the default bus: the bus module must forward each.
3. Schemas: the registry makes one `aws_schemas_schema` per file of the folder the root
   points it at (contracts/schemas/), and every file there is one the fileset matches and a
   registry document named after its source.
4. IAM: each instance gets its own contracts/iam/<service>.json; the statements the module
   builds from it copy its actions verbatim, and its events:PutEvents statements carry an
   events:source condition of the service's own source; every resource token it uses is mapped by the
   root; the module's own statements grant only what running as a Lambda function needs and
   none of the actions the services' code calls; nothing else attaches a policy to a service's
   role; and no Allow statement anywhere in the HCL grants a wildcard action.

Usage: check_wiring.py [--infra DIR] [--contracts DIR]. Exit 1 on the first run with failures.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

import hcl2

REPO = Path(__file__).resolve().parents[2]

# What the service module may grant a function besides its contracts/iam statements: its own
# logs, its own dead-letter queue, the deployment key, its traces, and VPC network interfaces;
# and the trust policy's sts:AssumeRole.
INFRA_ACTIONS = {
    "logs:CreateLogStream",
    "logs:PutLogEvents",
    "sqs:SendMessage",
    "kms:Decrypt",
    "kms:Encrypt",
    "kms:GenerateDataKey",
    "kms:DescribeKey",
    "xray:PutTraceSegments",
    "xray:PutTelemetryRecords",
    "ec2:CreateNetworkInterface",
    "ec2:DescribeNetworkInterfaces",
    "ec2:DescribeSubnets",
    "ec2:DeleteNetworkInterface",
    "ec2:AssignPrivateIpAddresses",
    "ec2:UnassignPrivateIpAddresses",
    "sts:AssumeRole",
}
# The longest name_prefix variables.tf accepts; rule names must fit EventBridge's 64.
MAX_PREFIX = 20
# EventBridge Schema Registry: schema names of letters, digits, '.', '-', '_' and '@'.
SCHEMA_NAME = re.compile(r"^[A-Za-z0-9._@-]{1,385}$")


# --- Reading HCL -------------------------------------------------------------------------------


def unquote(label: str) -> str:
    """A block label or string literal as python-hcl2 gives it ("\"x\"") without its quotes."""
    return label[1:-1] if len(label) >= 2 and label[0] == label[-1] == '"' else label


def expr(value: object) -> str:
    """An attribute's expression text, whitespace-normalised: `${x}` -> `x`, `"s"` -> `"s"`."""
    text = value if isinstance(value, str) else json.dumps(value)
    if text.startswith("${") and text.endswith("}"):
        text = text[2:-1]
    return re.sub(r"\s+", " ", text).strip()


def literal_list(value: object) -> list[str] | None:
    """A list of string literals, or None if the value is an expression."""
    if isinstance(value, list) and all(isinstance(v, str) and v.startswith('"') for v in value):
        return [unquote(v) for v in value]
    return None


@dataclass
class Module:
    path: Path
    resources: dict[tuple[str, str], dict] = field(default_factory=dict)
    data: dict[tuple[str, str], dict] = field(default_factory=dict)
    modules: dict[str, dict] = field(default_factory=dict)
    locals: dict[str, object] = field(default_factory=dict)
    variables: dict[str, dict] = field(default_factory=dict)
    text: str = ""

    @classmethod
    def load(cls, path: Path) -> "Module":
        module = cls(path)
        for file in sorted(path.glob("*.tf")):
            module.text += file.read_text()
            with file.open() as handle:
                parsed = hcl2.load(handle)
            for block in parsed.get("resource", []):
                for rtype, named in block.items():
                    for name, body in named.items():
                        module.resources[(unquote(rtype), unquote(name))] = body
            for block in parsed.get("data", []):
                for dtype, named in block.items():
                    for name, body in named.items():
                        module.data[(unquote(dtype), unquote(name))] = body
            for block in parsed.get("module", []):
                for name, body in block.items():
                    module.modules[unquote(name)] = body
            for block in parsed.get("locals", []):
                module.locals.update({k: v for k, v in block.items() if not k.startswith("__")})
            for block in parsed.get("variable", []):
                for name, body in block.items():
                    module.variables[unquote(name)] = body
        return module

    def of_type(self, rtype: str) -> list[tuple[str, dict]]:
        """(name, body) of every resource of type `rtype`."""
        return [(name, body) for (other, name), body in self.resources.items() if other == rtype]

    def policy_statements(self) -> list[tuple[str, dict]]:
        """Every statement of every aws_iam_policy_document, static or dynamic, with a name."""
        found = []
        for (dtype, name), body in self.data.items():
            if dtype != "aws_iam_policy_document":
                continue
            for index, statement in enumerate(body.get("statement", [])):
                found.append((f"data.aws_iam_policy_document.{name} statement {index}", statement))
            for dynamic in body.get("dynamic", []):
                for label, block in dynamic.items():
                    if unquote(label) == "statement":
                        for content in block.get("content", []):
                            where = f"data.aws_iam_policy_document.{name} dynamic statement ({expr(block['for_each'])})"
                            found.append((where, content))
        return found


# --- Reporting ---------------------------------------------------------------------------------


class Report:
    def __init__(self) -> None:
        self.failures: list[str] = []
        self.passed = 0

    def check(self, ok: bool, what: str, detail: str = "") -> bool:
        if ok:
            self.passed += 1
        else:
            self.failures.append(f"{what}{': ' + detail if detail else ''}")
            print(f"FAIL {what}{': ' + detail if detail else ''}")
        return ok

    def equal(self, actual: object, expected: object, what: str) -> bool:
        return self.check(actual == expected, what, f"found {actual!r}, expected {expected!r}")

    def note(self, line: str) -> None:
        print(f"  ok {line}")

    def finish(self, name: str) -> int:
        """Prints the summary line; the exit status (1 if anything failed)."""
        if self.failures:
            print(f"{name}: {len(self.failures)} failed, {self.passed} passed")
            return 1
        print(f"{name}: all {self.passed} checks passed")
        return 0


def read_json(path: Path) -> dict:
    return json.loads(path.read_text())


# --- 1. Services -------------------------------------------------------------------------------


def check_services(report: Report, root: Module, contracts: Path) -> list[str]:
    rules = sorted(p.stem for p in (contracts / "rules").glob("*.json"))
    iam = sorted(p.stem for p in (contracts / "iam").glob("*.json"))
    local_services = sorted(root.locals.get("services", {}))
    concurrency = sorted(root.variables.get("reserved_concurrency", {}).get("default", {}))
    report.check(bool(rules), "contracts/rules/ holds the services' rules")
    report.equal(iam, rules, "contracts/iam/ has a file per service of contracts/rules/")
    report.equal(local_services, rules, "local.services (infra-terraform/main.tf) has an entry per service")
    report.equal(concurrency, rules, "var.reserved_concurrency's default has a value per service")
    services = root.modules.get("services", {})
    report.equal(unquote(services.get("source", "")), "./modules/service", 'module "services" source')
    report.equal(expr(services.get("for_each", "")), "local.services", 'module "services" for_each')
    report.equal(expr(services.get("service", "")), "each.key", 'module "services" service')
    report.note(f"{len(rules)} services, one module instance each: {', '.join(rules)}")
    return rules


# --- 2. Rules ----------------------------------------------------------------------------------


def check_rules(report: Report, root: Module, service_module: Module, bus: Module, contracts: Path, services: list[str]) -> None:
    instance = root.modules.get("services", {})
    report.equal(
        unquote(instance.get("rules_file", "")),
        "${local.contracts_dir}/rules/${each.key}.json",
        'module "services" rules_file: each instance reads its own contracts/rules/<service>.json',
    )
    locals_ = service_module.locals
    report.equal(expr(locals_.get("contract", "")), "jsondecode(file(var.rules_file))", "service module local.contract")
    report.equal(
        expr(locals_.get("rules", "")),
        "{for rule in local.contract.rules : rule.name => rule}",
        "service module local.rules: every entry of the file, unfiltered, by name",
    )
    rule_resources = [key for key in service_module.resources if key[0] == "aws_cloudwatch_event_rule"]
    report.equal(rule_resources, [("aws_cloudwatch_event_rule", "this")], "the service module's only rule resource")
    rule = service_module.resources.get(("aws_cloudwatch_event_rule", "this"), {})
    report.equal(expr(rule.get("for_each", "")), "local.rules", "aws_cloudwatch_event_rule.this for_each")
    report.equal(expr(rule.get("event_pattern", "")), "jsonencode(each.value.eventPattern)", "aws_cloudwatch_event_rule.this event_pattern")
    report.equal(expr(rule.get("event_bus_name", "")), "var.event_bus_name", "aws_cloudwatch_event_rule.this event_bus_name")
    report.equal(unquote(rule.get("name", "")), "${local.function_name}-${each.key}", "aws_cloudwatch_event_rule.this name")
    report.equal(expr(instance.get("event_bus_name", "")), "module.bus.bus_name", 'module "services" event_bus_name: the custom bus')

    target = service_module.resources.get(("aws_cloudwatch_event_target", "this"), {})
    report.equal(expr(target.get("for_each", "")), "aws_cloudwatch_event_rule.this", "aws_cloudwatch_event_target.this: one per rule")
    report.equal(expr(target.get("arn", "")), "aws_lambda_function.this.arn", "aws_cloudwatch_event_target.this targets the function")
    retry = (target.get("retry_policy") or [{}])[0]
    report.check(
        retry.get("maximum_event_age_in_seconds") == 3600 and retry.get("maximum_retry_attempts") == 8,
        "aws_cloudwatch_event_target.this retry policy (1 h, 8 attempts)",
        repr(retry),
    )
    dead_letters = (target.get("dead_letter_config") or [{}])[0]
    report.equal(expr(dead_letters.get("arn", "")), "aws_sqs_queue.dlq.arn", "aws_cloudwatch_event_target.this dead-letter queue")
    permission = service_module.resources.get(("aws_lambda_permission", "events"), {})
    report.equal(expr(permission.get("for_each", "")), "aws_cloudwatch_event_rule.this", "aws_lambda_permission.events: one per rule")

    forwarded = forwarded_events(bus)
    total = 0
    for service in services:
        path = contracts / "rules" / f"{service}.json"
        contract = read_json(path)
        report.equal(contract.get("service"), service, f"{path.name} declares service {service}")
        names = [r.get("name") for r in contract.get("rules", [])]
        report.check(len(names) == len(set(names)), f"{path.name}: rule names are unique", repr(names))
        for entry in contract.get("rules", []):
            name = entry.get("name", "")
            full = f"{'p' * MAX_PREFIX}-{service}-{name}"
            report.check(bool(re.fullmatch(r"[a-z0-9-]+", name)), f"{path.name} rule {name!r}: a valid rule name")
            report.check(len(full) <= 64, f"{path.name} rule {name!r}: <prefix>-{service}-{name} fits 64 characters")
            pattern = entry.get("eventPattern")
            report.check(isinstance(pattern, dict) and bool(pattern), f"{path.name} rule {name!r}: an event pattern")
            for source in (pattern or {}).get("source", []):
                if isinstance(source, str) and source.startswith("aws."):
                    for detail_type in pattern.get("detail-type", []):
                        report.check(
                            (source, detail_type) in forwarded,
                            f"{path.name} rule {name!r}: {source} {detail_type!r} is forwarded from the default bus",
                        )
            print(f'  ok {path.relative_to(contracts.parent)} {name} -> module.services["{service}"].aws_cloudwatch_event_rule.this["{name}"]')
            total += 1
    report.note(f"{total} rules, each an aws_cloudwatch_event_rule of its own service")


def forwarded_events(bus: Module) -> set[tuple[str, str]]:
    """(source, detail-type) pairs the bus module forwards from the default bus."""
    pairs = set()
    for pattern in bus.locals.get("forwarded", {}).values():
        fields = {unquote(k): v for k, v in pattern.items()}
        for source in literal_list(fields.get("source")) or []:
            for detail_type in literal_list(fields.get("detail-type")) or []:
                pairs.add((source, detail_type))
    return pairs


def check_forwarding(report: Report, root: Module, bus: Module) -> None:
    rule = bus.resources.get(("aws_cloudwatch_event_rule", "forward"), {})
    report.equal(expr(rule.get("for_each", "")), "local.forwarded", "bus forwarding rules: one per forwarded pattern")
    report.equal(unquote(rule.get("event_bus_name", "")), "default", "bus forwarding rules live on the default bus")
    report.equal(expr(rule.get("event_pattern", "")), "jsonencode(each.value)", "bus forwarding rules' patterns")
    target = bus.resources.get(("aws_cloudwatch_event_target", "forward"), {})
    report.equal(expr(target.get("arn", "")), "aws_cloudwatch_event_bus.this.arn", "bus forwarding targets the custom bus")
    s3 = {unquote(k): v for k, v in bus.locals.get("forwarded", {}).get('"s3-object-created"', {}).items()}
    bucket = s3.get("detail", {}).get("bucket", {}).get("name")
    report.equal(bucket, ["${var.ingest_bucket_name}"], "Object Created is forwarded for the ingest bucket only")
    report.equal(
        expr(root.modules.get("bus", {}).get("ingest_bucket_name", "")),
        "module.storage.ingest_bucket_name",
        'module "bus" ingest_bucket_name',
    )


# --- 3. Schemas --------------------------------------------------------------------------------


def check_schemas(report: Report, root: Module, bus: Module, contracts: Path) -> None:
    report.equal(
        unquote(root.modules.get("bus", {}).get("schemas_dir", "")),
        "${local.contracts_dir}/schemas",
        'module "bus" schemas_dir: contracts/schemas',
    )
    schema = bus.resources.get(("aws_schemas_schema", "this"), {})
    report.equal(
        expr(schema.get("for_each", "")),
        '{for file in fileset(var.schemas_dir, "*.json") : trimsuffix(file, ".json") => file}',
        "aws_schemas_schema.this: one per *.json of the folder",
    )
    report.equal(expr(schema.get("name", "")), "each.key", "aws_schemas_schema.this name: the file's name")
    report.equal(expr(schema.get("content", "")), 'file("${var.schemas_dir}/${each.value}")', "aws_schemas_schema.this content: the file")
    report.equal(unquote(schema.get("type", "")), "OpenApi3", "aws_schemas_schema.this type")
    report.equal(expr(schema.get("registry_name", "")), "aws_schemas_registry.this.name", "aws_schemas_schema.this registry")

    folder = contracts / "schemas"
    strays = [p.name for p in folder.iterdir() if not (p.is_file() and p.suffix == ".json")]
    report.check(not strays, "contracts/schemas/ holds only *.json files (the fileset is not recursive)", repr(strays))
    files = sorted(folder.glob("*.json"))
    for path in files:
        name = path.stem
        document = read_json(path)
        event = document.get("components", {}).get("schemas", {}).get("AWSEvent", {})
        source = name.split("@", 1)[0]
        report.check(SCHEMA_NAME.fullmatch(name) is not None and "@" in name, f"{path.name}: a registry schema name <source>@<Name>")
        report.check(str(document.get("openapi", "")).startswith("3."), f"{path.name}: an OpenAPI 3 document")
        report.equal(event.get("x-amazon-events-source"), source, f"{path.name}: its events' source")
    report.note(f"{len(files)} schemas, each an aws_schemas_schema of the registry")


# --- 4. IAM ------------------------------------------------------------------------------------


def check_iam(report: Report, modules: dict[str, Module], contracts: Path, services: list[str]) -> None:
    root, service_module = modules["root"], modules["service"]
    instance = root.modules.get("services", {})
    report.equal(
        unquote(instance.get("permissions_file", "")),
        "${local.contracts_dir}/iam/${each.key}.json",
        'module "services" permissions_file: each instance reads its own contracts/iam/<service>.json',
    )
    report.equal(expr(instance.get("iam_resources", "")), "local.iam_resources", 'module "services" iam_resources')
    tokens = {unquote(k) for k in root.locals.get("iam_resources", {})}

    # The module's code statements: the file's statements, actions copied verbatim.
    locals_ = service_module.locals
    report.equal(expr(locals_.get("permissions", "")), "jsondecode(file(var.permissions_file))", "service module local.permissions")
    built = expr(locals_.get("code_statements", ""))
    report.check(
        re.match(r"^\[for (\w+) in local\.permissions\.statements : \{sid = \1\.sid, actions = \1\.actions, resources = ", built) is not None,
        "service module local.code_statements: one per statement of the file, its actions verbatim",
        built,
    )
    policy = service_module.data.get(("aws_iam_policy_document", "this"), {})
    from_file = [
        block for d in policy.get("dynamic", []) for label, block in d.items()
        if unquote(label) == "statement" and expr(block.get("for_each", "")) == "local.code_statements"
    ]
    report.check(len(from_file) == 1, "the role policy has one dynamic statement over local.code_statements")
    for block in from_file:
        content = block.get("content", [{}])[0]
        report.equal(expr(content.get("actions", "")), "statement.value.actions", "its actions")
        report.equal(expr(content.get("resources", "")), "statement.value.resources", "its resources")
        conditions = [c for d in content.get("dynamic", []) for label, c in d.items() if unquote(label) == "condition"]
        condition = (conditions or [{}])[0].get("content", [{}])[0]
        report.check(
            len(conditions) == 1
            and unquote(condition.get("variable", "")) == "events:source"
            and expr(conditions[0].get("for_each", "")) == "length(statement.value.event_sources) > 0 ? [statement.value.event_sources] : []",
            "its events:PutEvents statements carry an events:source condition (local.code_statements event_sources)",
        )
    report.check(
        "event_sources = contains(s.actions, \"events:PutEvents\") ? [local.event_source] : []" in built,
        "service module local.code_statements: a publishing statement's event_sources is the service's own source",
        built,
    )
    report.equal(unquote(locals_.get("event_source", "")), "mediasift.${var.service}", "service module local.event_source")

    # Only the service module's one inline policy is attached to a service's role.
    attachments = [k for k in service_module.resources if k[0] in ("aws_iam_role_policy", "aws_iam_role_policy_attachment", "aws_iam_policy", "aws_iam_policy_attachment")]
    report.equal(attachments, [("aws_iam_role_policy", "this")], "the service module attaches exactly one policy to the role")
    role_policy = service_module.resources.get(("aws_iam_role_policy", "this"), {})
    report.equal(expr(role_policy.get("role", "")), "aws_iam_role.this.id", "aws_iam_role_policy.this role")
    report.equal(expr(role_policy.get("policy", "")), "data.aws_iam_policy_document.this.json", "aws_iam_role_policy.this policy")
    report.check(
        not re.search(r"module\.services\b[^\n]*\brole", root.text),
        "nothing in the root module touches a service's role",
    )

    code_actions: set[str] = set()
    for service in services:
        path = contracts / "iam" / f"{service}.json"
        permissions = read_json(path)
        report.equal(permissions.get("service"), service, f"{path.name} declares service {service}")
        statements = permissions.get("statements", [])
        report.check(bool(statements), f"{path.name}: has statements")
        for statement in statements:
            sid = statement.get("sid", "")
            report.check(bool(re.fullmatch(r"[A-Za-z0-9]+", sid)), f"{path.name} {sid!r}: an IAM Sid")
            actions = statement.get("actions", [])
            report.check(bool(actions), f"{path.name} {sid}: actions")
            for action in actions:
                report.check(re.fullmatch(r"[a-z0-9-]+:[A-Za-z0-9]+", action) is not None, f"{path.name} {sid}: {action!r} is one action, no wildcard")
            code_actions.update(actions)
            unknown = sorted(set(statement.get("resources", [])) - tokens)
            report.check(bool(statement.get("resources")) and not unknown, f"{path.name} {sid}: resources the root maps", f"unmapped {unknown}")
        print(f"  ok {path.relative_to(contracts.parent)} -> module.services[\"{service}\"] role policy: {len(statements)} statements, "
              f"{len({a for s in statements for a in s.get('actions', [])})} actions")

    # The module's own statements: infrastructure only, none of the code's actions.
    for where, statement in service_module.policy_statements():
        actions = literal_list(statement.get("actions"))
        if actions is None:
            continue  # the statements from the file, checked above
        outside = sorted(set(actions) - INFRA_ACTIONS)
        overlap = sorted(set(actions) & code_actions)
        report.check(not outside, f"service module {where}: infrastructure actions only", f"also {outside}")
        report.check(not overlap, f"service module {where}: none of the actions the code calls", f"hand-written {overlap}")

    # No wildcard action is allowed anywhere; policies are written so this check can read them.
    for name, module in modules.items():
        report.check(
            not re.search(r"\bnot_actions\b|\"?Action\"?\s*[=:]", module.text),
            f"{name} module: every policy is an aws_iam_policy_document with explicit actions",
        )
        for where, statement in module.policy_statements():
            if unquote(str(statement.get("effect", '"Allow"'))) == "Deny":
                continue  # e.g. the buckets' refusal of non-TLS requests ("s3:*")
            wild = [a for a in literal_list(statement.get("actions")) or [] if "*" in a]
            report.check(not wild, f"{name} module {where}: no wildcard action", repr(wild))
    report.note(f"{len(code_actions)} distinct code-called actions, granted only from contracts/iam/")


# --- Main --------------------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--infra", type=Path, default=REPO / "infra-terraform")
    parser.add_argument("--contracts", type=Path, default=REPO / "contracts")
    args = parser.parse_args()

    modules = {"root": Module.load(args.infra)}
    for path in sorted((args.infra / "modules").iterdir()):
        if path.is_dir():
            modules[path.name] = Module.load(path)
    for needed in ("service", "bus"):
        if needed not in modules:
            print(f"FAIL infra-terraform/modules/{needed} is missing")
            return 1
    iam_dir = args.contracts / "iam"
    if not iam_dir.is_dir():
        print(f"FAIL {iam_dir} is missing: the services' generated IAM permissions (`make contracts`)")
        return 1

    report = Report()
    services = check_services(report, modules["root"], args.contracts)
    check_rules(report, modules["root"], modules["service"], modules["bus"], args.contracts, services)
    check_forwarding(report, modules["root"], modules["bus"])
    check_schemas(report, modules["root"], modules["bus"], args.contracts)
    check_iam(report, modules, args.contracts, services)
    return report.finish("wiring")


if __name__ == "__main__":
    sys.exit(main())
