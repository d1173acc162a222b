"""``AuthorizationConfiguration``: the checks of ``--authorization-config`` at startup.

Follows k8s.io/apiserver ``pkg/apis/apiserver/validation/validation.go``
(``ValidateAuthorizationConfiguration``, ``ValidateWebhookConfiguration``,
``compileMatchConditions``) from v0.29.0 to v0.37.0-beta.0, called by kube-apiserver with the
authorizer types ``authzmodes.AuthorizationModeChoices`` and ``Webhook`` as the only repeatable
type (k8s.io/kubernetes ``pkg/kubeapiserver/options/authorization.go``). The webhook defaults of
``pkg/apis/apiserver/v1/defaults.go`` (``authorizedTTL: 5m``, ``unauthorizedTTL: 30s``) apply
before validation, so only a negative TTL fails. Upstream reports webhook fields under the
authorizer's path (``authorizers[1].timeout``), not under ``.webhook``; so do we.

Left to the host: ``connectionInfo.kubeConfigFile`` must exist and be a regular file (an
``os.Stat`` on the control-plane node); CEL match conditions are not compiled.
"""

from __future__ import annotations

from deployer.companions.audit import dns1123_subdomain_errors
from deployer.companions.document import Context, Node
from deployer.companions.facts import kind_extra
from deployer.companions.fielderrors import (
    FieldError,
    FieldPath,
    duplicate,
    invalid,
    not_supported,
    required,
    too_many,
)
from deployer.schema.gotime import format_duration, parse_duration

__all__ = ["validate_authorization"]

_MAX_TIMEOUT_NS = 30 * 1_000_000_000
_KIND = "AuthorizationConfiguration"


def _duration(node: Node, key: str, default_ns: int) -> int:
    value = parse_duration(node.text(key)) if node.text(key) else 0
    return default_ns if value == 0 else value


def _webhook(hook: Node, path: FieldPath, ctx: Context) -> list[FieldError]:
    errs = []
    timeout = parse_duration(hook.text("timeout")) if hook.text("timeout") else 0
    if timeout == 0:
        errs.append(required(path.child("timeout")))
    elif timeout > _MAX_TIMEOUT_NS or timeout < 0:
        errs.append(
            invalid(path.child("timeout"), format_duration(timeout), "must be > 0s and <= 30s")
        )
    for key, default in (("authorizedTTL", 300_000_000_000), ("unauthorizedTTL", 30_000_000_000)):
        ttl = _duration(hook, key, default)
        if ttl < 0:
            errs.append(invalid(path.child(key), format_duration(ttl), "must be > 0s"))
    version = hook.text("subjectAccessReviewVersion")
    if version == "":
        errs.append(required(path.child("subjectAccessReviewVersion")))
    elif version not in ("v1", "v1beta1"):
        errs.append(
            not_supported(path.child("subjectAccessReviewVersion"), version, ("v1", "v1beta1"))
        )
    conditions = hook.nodes("matchConditions")
    match_version = hook.text("matchConditionSubjectAccessReviewVersion")
    mpath = path.child("matchConditionSubjectAccessReviewVersion")
    if match_version == "" and conditions:
        errs.append(required(mpath, "required if match conditions are specified"))
    elif match_version not in ("", "v1"):
        errs.append(not_supported(mpath, match_version, ("v1",)))
    policy = hook.text("failurePolicy")
    if policy == "":
        errs.append(required(path.child("failurePolicy")))
    elif policy not in ("NoOpinion", "Deny"):
        errs.append(not_supported(path.child("failurePolicy"), policy, ("NoOpinion", "Deny")))
    errs += _connection(hook.node("connectionInfo"), path.child("connectionInfo"))
    errs += _match_conditions(conditions, path, ctx)
    return errs


def _connection(info: Node, path: FieldPath) -> list[FieldError]:
    kind = info.text("type")
    kpath = path.child("kubeConfigFile")
    if kind == "":
        return [required(path.child("type"))]
    if kind == "InClusterConfig":
        if info.has("kubeConfigFile"):
            return [
                invalid(
                    kpath, info.text("kubeConfigFile"), "can only be set when type=KubeConfigFile"
                )
            ]
        return []
    if kind == "KubeConfigFile":
        file = info.text("kubeConfigFile")
        if file == "":
            return [required(kpath)]
        if not file.startswith("/"):
            return [invalid(kpath, file, "must be an absolute path")]
        return []
    return [
        not_supported(path.child("type"), dict(info.data), ("InClusterConfig", "KubeConfigFile"))
    ]


def _match_conditions(conditions: list[Node], path: FieldPath, ctx: Context) -> list[FieldError]:
    errs = []
    gate = "StructuredAuthorizationConfiguration"
    if conditions and not ctx.gate(gate):
        errs.append(
            invalid(path.child("matchConditions"), "", ctx.message("match_conditions_gate_off"))
        )
    if len(conditions) > 64:
        return [
            *errs,
            too_many(
                path.child("matchConditions"), len(conditions), 64, plural_fix=ctx.json_values
            ),
        ]
    seen: set[str] = set()
    for i, condition in enumerate(conditions):
        epath = path.child("matchConditions").index(i).child("expression")
        expr = condition.text("expression")
        if not expr.strip():
            errs.append(required(epath))
            continue
        if expr in seen:
            errs.append(duplicate(epath, expr))
            continue
        seen.add(expr)
    return errs


def validate_authorization(doc: Node, ctx: Context) -> list[FieldError]:
    """Return ``ValidateAuthorizationConfiguration``'s errors for ``ctx.minor``."""
    known = kind_extra(_KIND, "authorizer_types")
    repeatable = set(kind_extra(_KIND, "repeatable_types"))
    root = FieldPath(("authorizers",))
    authorizers = doc.nodes("authorizers")
    errs = (
        [] if authorizers else [required(root, "at least one authorization mode must be defined")]
    )
    types: set[str] = set()
    names: set[str] = set()
    for i, authorizer in enumerate(authorizers):
        path = root.index(i)
        kind = authorizer.text("type")
        if kind == "":
            errs.append(required(path.child("type")))
            continue
        if kind not in known:
            errs.append(not_supported(path.child("type"), kind, sorted(known)))
            continue
        if kind in types and kind not in repeatable:
            errs.append(duplicate(path.child("type"), kind))
            continue
        types.add(kind)
        name = authorizer.text("name")
        if name == "":
            errs.append(required(path.child("name")))
        elif name in names:
            errs.append(duplicate(path.child("name"), name))
        else:
            msgs = dns1123_subdomain_errors(name)
            if msgs:
                detail = "authorizer name is invalid: " + ", ".join(msgs)
                errs.append(invalid(path.child("name"), name, detail))
        names.add(name)
        if kind == "Webhook":
            if not authorizer.has("webhook"):
                errs.append(required(path.child("webhook"), "required when type=Webhook"))
                continue
            errs += _webhook(authorizer.node("webhook"), path, ctx)
        elif authorizer.has("webhook"):
            errs.append(
                invalid(
                    path.child("webhook"), "non-null", "may only be specified when type=Webhook"
                )
            )
    return errs
