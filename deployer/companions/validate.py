"""Validate one companion file offline, as kube-apiserver of a given minor would at startup.

Why offline: a companion file the apiserver rejects at startup takes the control-plane node's
apiserver down until rollback; catching it on the workstation means no host is touched. The
steps are those of the binary: decode (:mod:`deployer.companions.decode`), default, validate
(one module per kind), then the loader's own checks. Every problem names the file, the field path
and, where upstream defines one, the binary's own message text; warnings (what the binary would
ignore or log) do not fail the run.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from types import MappingProxyType

from deployer.companions.admission import LEGACY_KEYS, admission_warnings
from deployer.companions.audit import validate_policy
from deployer.companions.authentication import validate_authentication
from deployer.companions.authorization import validate_authorization
from deployer.companions.decode import DecodeResult, decode
from deployer.companions.document import Context, Node, line_of
from deployer.companions.egress import validate_egress
from deployer.companions.encryption import validate_encryption
from deployer.companions.facts import KINDS, LoaderFacts, loader_facts, minor_key
from deployer.companions.fielderrors import FieldError
from deployer.companions.tracing import validate_tracing
from deployer.errors import InputProblem, ValidationError
from deployer.schema.gostrconv import go_quote

__all__ = ["Options", "check_companion", "kind_of", "validate_companion"]

#: A document's ``kind`` -> the kind this package knows it as.
_ALIASES = {"EncryptionConfig": "EncryptionConfiguration"}


class Options:
    """Inputs some checks need from the rest of the desired state (flags of the same pod)."""

    __slots__ = ("disallowed_issuers", "encryption_reload", "gates", "known_admission_plugins")

    def __init__(
        self,
        *,
        gates: Mapping[str, bool] | None = None,
        encryption_reload: bool = False,
        disallowed_issuers: Sequence[str] = (),
        known_admission_plugins: Collection[str] = (),
    ) -> None:
        #: ``--feature-gates`` values; unset gates take the minor's default.
        self.gates: Mapping[str, bool] = MappingProxyType(dict(gates or {}))
        #: ``--encryption-provider-config-automatic-reload``.
        self.encryption_reload = encryption_reload
        #: ``--service-account-issuer`` values (a JWT issuer must not overlap them).
        self.disallowed_issuers = tuple(disallowed_issuers)
        #: The minor's admission plugin names, for the unknown-plugin warning.
        self.known_admission_plugins = frozenset(known_admission_plugins)


def kind_of(document: object, declared: str | None) -> str | None:
    """Return the kind to validate ``document`` as: the declared one, else the document's."""
    if declared:
        return declared
    if isinstance(document, Mapping):
        kind = str(document.get("kind") or "")
        return _ALIASES.get(kind, kind) or None
    return None


def _semantic(
    kind: str, doc: Node, ctx: Context, options: Options
) -> tuple[list[FieldError], list[str], list[str]]:
    """Run the kind's validation: (field errors, loader errors, warnings)."""
    if kind == "Policy":
        errs, loader = validate_policy(doc, ctx)
        return errs, loader, []
    if kind == "EncryptionConfiguration":
        return validate_encryption(doc, ctx, reload=options.encryption_reload)
    if kind == "AuthenticationConfiguration":
        issuers = options.disallowed_issuers
        return validate_authentication(doc, ctx, disallowed_issuers=issuers), [], []
    if kind == "AuthorizationConfiguration":
        return validate_authorization(doc, ctx), [], []
    if kind == "AdmissionConfiguration":
        return [], [], admission_warnings(doc, options.known_admission_plugins)
    if kind == "EgressSelectorConfiguration":
        return validate_egress(doc, ctx), [], []
    errs, loader = validate_tracing(doc, ctx)
    return errs, loader, []


def _problem(
    file: str, facts: LoaderFacts, text: str, *, warning: bool = False, line: int | None = None
) -> InputProblem:
    hint = None
    if not warning and ("registered" in text or "unexpected config type" in text):
        accepted = ", ".join(f"{g.api_version} {g.kind}" for g in facts.accepted)
        hint = f"kube-apiserver {facts.minor} reads --{facts.flag} as: {accepted}"
    return InputProblem(
        f"{facts.kind}: {text}",
        file=file,
        line=line,
        flag=facts.flag,
        hint=hint,
        is_warning=warning,
    )


#: What each loader says about an empty file (None: it goes on with an empty configuration).
_EMPTY = {
    # pkg/server/options/encryptionconfig/config.go loadDataAndHash
    "EncryptionConfiguration": "encryption provider configuration file {file} is empty",
    # k8s.io/kubernetes pkg/kubeapiserver/options/authentication.go
    "AuthenticationConfiguration": "empty config data",
    # k8s.io/kubernetes pkg/kubeapiserver/authorizer/load/load.go: the default configuration
    "AuthorizationConfiguration": None,
    # pkg/audit/policy/reader.go and the strict codecs: nothing to take apiVersion/kind from
    "Policy": "failed decoding: Object 'Kind' is missing in ''",
    "AdmissionConfiguration": "Object 'Kind' is missing in ''",
    "EgressSelectorConfiguration": "Object 'Kind' is missing in ''",
    "TracingConfiguration": (
        "unable to decode tracing configuration data: Object 'Kind' is missing in ''"
    ),
}


def _empty_file(file: str, facts: LoaderFacts) -> str | None:
    text = _EMPTY[facts.kind]
    return None if text is None else text.replace("{file}", go_quote(file))


def validate_companion(
    file: str,
    document: object,
    minor: str,
    *,
    kind: str | None = None,
    options: Options | None = None,
) -> tuple[InputProblem, ...]:
    """Return every problem kube-apiserver ``minor`` would have with ``document``.

    Args:
        file: the name shown to the operator (the inventory's path for the file).
        document: the parsed YAML/JSON document; secrets may be
            :class:`~deployer.model.host.Secret` values.
        minor: ``"1.31"``.
        kind: the kind the inventory declares (the flag that reads the file); None to take the
            document's own ``kind``.
        options: flag values of the same pod that some checks depend on.
    """
    options = options or Options()
    minor_key(minor)
    resolved = kind_of(document, kind)
    if resolved not in KINDS:
        shown = resolved or "(none)"
        return (
            InputProblem(
                f"unknown companion kind {shown}",
                file=file,
                hint="kube-apiserver reads files of kind " + ", ".join(KINDS),
            ),
        )
    facts = loader_facts(resolved, minor)
    if (
        resolved == "AdmissionConfiguration"
        and isinstance(document, Mapping)
        and not document.get("kind")
        and any(k in document for k in LEGACY_KEYS)
    ):
        text = (
            "an unversioned legacy plugin configuration: read only by ImagePolicyWebhook and "
            "PodNodeSelector"
        )
        return (_problem(file, facts, text, warning=True),)
    if document is None:  # an empty file
        empty = _empty_file(file, facts)
        if empty is not None or not facts.accepted:
            return (_problem(file, facts, empty or "the file is empty"),)
        # The authorization loader defaults an empty file; validation then decides.
        decoded, document = DecodeResult(), {}
    else:
        decoded = decode(document, facts)

    def line(text: str) -> int | None:
        path = decoded.where.get(text)
        return None if path is None else line_of(document, path)

    problems = [_problem(file, facts, e, line=line(e)) for e in decoded.errors]
    problems += [_problem(file, facts, w, warning=True, line=line(w)) for w in decoded.warnings]
    if decoded.errors:
        return tuple(problems)
    ctx = Context(minor=minor, gates=options.gates)
    errs, loader, warnings = _semantic(resolved, Node.of(document), ctx, options)
    problems += [
        _problem(file, facts, e.text(json_values=ctx.json_values), line=line_of(document, e.path))
        for e in errs
    ]
    problems += [_problem(file, facts, text) for text in loader]
    problems += [_problem(file, facts, w, warning=True) for w in warnings]
    return tuple(problems)


def check_companion(
    file: str,
    document: object,
    minor: str,
    *,
    kind: str | None = None,
    options: Options | None = None,
) -> tuple[InputProblem, ...]:
    """Raise ValidationError (exit 6) when the file would fail; return the warnings otherwise."""
    problems = validate_companion(file, document, minor, kind=kind, options=options)
    if any(not p.is_warning for p in problems):
        raise ValidationError(problems, hint="kube-apiserver would refuse to start with this file")
    return problems
