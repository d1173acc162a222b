"""Turn a host's ``apiserver_files`` into the companion files rolled with its manifest.

Why here, next to the manifest renderer: a companion file is rendered under the same rules as
the manifest (a ``template`` is looked up in the inventory's folder, every printed value goes
through a quoting filter, nothing depends on the clock), and its digest feeds the manifest's
annotation. Each file is then checked offline the way the host's kube-apiserver version reads it
(:mod:`deployer.companions`): a file it would reject at startup, an unknown ``kind`` or
``apiVersion``, a key or token written in clear, or a secret reference that does not resolve,
is exit 6 before any host is touched. Resolved secrets are registered with the masking, so no
log, diff, report or run record shows them.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

import jinja2

from deployer.companions.facts import flag_kinds, supported_minors
from deployer.companions.reload import apply_mode
from deployer.desired import DesiredState
from deployer.errors import InputError, InputProblem
from deployer.inventory.yamlfile import load_yaml_text
from deployer.model.files import CompanionFile
from deployer.model.host import Secret
from deployer.render.companion_items import Declared, ItemProblems, read_items
from deployer.render.quoting import UnquotedValueError
from deployer.report.masking import MASK, add_secret_values, is_secret_name

if TYPE_CHECKING:
    from deployer.companions.validate import Options

# The validators (``deployer.companions.validate``, which imports ``cryptography.x509``), the
# secret references and the document printer are imported where a host has companion files:
# an inventory without any (most plan runs) does not pay for them at start-up.

__all__ = ["CompanionBuilder", "flag_for_path"]

_HINT_SECRET = "write it as {secret_env: NAME} or {secret_file: PATH}, never in the inventory"  # noqa: S105


def flag_for_path(state: DesiredState, path: str) -> str | None:
    """Return the companion flag of ``state`` whose value is ``path`` (container == host path)."""
    for flag in flag_kinds():
        if state.flags.get(flag) == path:
            return flag
    return None


def _options(state: DesiredState) -> Options:
    """The flag values of the same pod that some companion checks read."""
    from deployer.companions.validate import Options

    gates: dict[str, bool] = {}
    for pair in state.flags.get("feature-gates", "").split(","):
        name, _, value = pair.partition("=")
        if name.strip() and value.strip().lower() in ("true", "false"):
            gates[name.strip()] = value.strip().lower() == "true"
    issuers = [i for i in state.flags.get("service-account-issuer", "").split(",") if i]
    return Options(
        gates=gates,
        encryption_reload=state.flags.get("encryption-provider-config-automatic-reload") == "true",
        disallowed_issuers=issuers,
    )


def _has_references(value: object) -> bool:
    from deployer.companions.secrets import REFERENCE_KEYS

    if isinstance(value, Mapping):
        return any(k in REFERENCE_KEYS for k in value) or any(
            _has_references(v) for v in value.values()
        )
    if isinstance(value, list | tuple):
        return any(_has_references(v) for v in value)
    return False


def _secrets(value: object) -> set[str]:
    if isinstance(value, Secret):
        return {value.value}
    if isinstance(value, Mapping):
        return {s for v in value.values() for s in _secrets(v)}
    if isinstance(value, list | tuple):
        return {s for v in value for s in _secrets(v)}
    return set()


def _clear_tokens(value: object, where: str = "") -> list[str]:
    """Field paths of credentials written in clear under a credential's name (``token:``)."""
    from deployer.companions.secrets import REFERENCE_KEYS

    found: list[str] = []
    if isinstance(value, Mapping):
        for key, item in value.items():
            path = f"{where}.{key}" if where else str(key)
            if (
                isinstance(item, str)
                and item
                and item != MASK
                and is_secret_name(str(key))
                and not item.startswith(("/", "./"))
            ):
                found.append(path)
            elif not (isinstance(item, Mapping) and any(k in REFERENCE_KEYS for k in item)):
                found += _clear_tokens(item, path)
    elif isinstance(value, list | tuple):
        for i, item in enumerate(value):
            found += _clear_tokens(item, f"{where}[{i}]")
    return found


class CompanionBuilder:
    """Builds hosts' companion files with one Jinja environment (the manifest renderer's).

    Args:
        environment: the Jinja environment to load ``template`` names with (it carries the
            quoting filters and the inventory folders as its search path).
        base_dir: where relative ``secret_file`` paths start (the inventory's folder).
        environ: the workstation's environment for ``secret_env`` (``os.environ``).
    """

    def __init__(
        self,
        environment: jinja2.Environment,
        *,
        base_dir: Path,
        environ: Mapping[str, str] | None = None,
    ) -> None:
        self._env = environment
        self._base_dir = base_dir
        self._environ = os.environ if environ is None else environ

    def build(self, state: DesiredState) -> tuple[DesiredState, list[InputProblem]]:
        """Return ``state`` with its companions filled in, and every problem found."""
        out = ItemProblems(state)
        files: list[CompanionFile] = []
        for declared in read_items(state, out):
            built = self._file(state, declared, out)
            if built is not None:
                files.append(built)
        if not files:
            return state, out.items
        return dataclasses.replace(state, companions=tuple(files)), out.items

    def _text(self, state: DesiredState, declared: Declared, out: ItemProblems) -> str | None:
        """The file's text: the inline string, or the template rendered."""
        if declared.template is None:
            return declared.content if isinstance(declared.content, str) else None
        path = str(declared.path)
        try:
            template = self._env.get_template(declared.template)
            text = template.render(
                host_name=state.host.name,
                kubernetes_version=state.kubernetes_version,
                kubernetes_minor=state.kubernetes_minor,
                flags=dict(state.flags),
                vars=dict(state.host.vars),
            )
        except jinja2.TemplateNotFound as exc:
            out.add(
                path,
                f"template {exc.name!r} not found",
                hint="template is a path relative to the inventory's folder",
            )
            return None
        except jinja2.TemplateSyntaxError as exc:
            out.add(path, f"template {exc.filename or declared.template}:{exc.lineno}: {exc}")
            return None
        except (jinja2.TemplateError, UnquotedValueError) as exc:
            out.add(path, f"template {declared.template!r} failed to render: {exc}")
            return None
        except Exception as exc:  # template code is operator input: report what it raised
            out.add(path, f"template {declared.template!r} failed: {type(exc).__name__}: {exc}")
            return None
        return text if text.endswith("\n") else text + "\n"

    def _document(self, declared: Declared, text: str | None, out: ItemProblems) -> object:
        """The parsed document (None for an empty file); problems go to ``out``."""
        if text is None:
            return declared.content
        result = load_yaml_text(text, str(declared.path))
        for problem in result.problems:
            out.add(str(declared.path), f"not YAML: {problem.message}", line=problem.line)
        return result.data

    def _file(
        self, state: DesiredState, declared: Declared, out: ItemProblems
    ) -> CompanionFile | None:
        path = str(declared.path)
        bad = len(out.items)
        text = self._text(state, declared, out)
        if len(out.items) > bad:
            return None
        flag = flag_for_path(state, path)
        kind = declared.kind or (flag_kinds()[flag] if flag else None)
        document: object = None
        if kind is not None or declared.template is not None or text is None:
            document = self._document(declared, text, out)
        if len(out.items) > bad:
            return None
        if kind is None:
            from deployer.companions.validate import kind_of

            known = kind_of(document, None)
            kind = known if known in flag_kinds().values() else None
        from deployer.companions.secrets import clear_text_secrets, resolve_secrets

        for problem in clear_text_secrets(kind or "", document, file=path):
            out.add(path, problem.message, hint=_HINT_SECRET)
        for field in _clear_tokens(document) if kind != "EncryptionConfiguration" else []:
            out.add(path, f"{field}: a credential in clear text", hint=_HINT_SECRET)
        try:
            resolved = resolve_secrets(
                document, file=path, base_dir=self._base_dir, environ=self._environ
            )
        except InputError as err:
            for problem in err.problems:
                out.add(path, problem.message, hint=problem.hint)
            return None
        if len(out.items) > bad:
            return None
        if kind is not None:
            self._validate(state, declared, kind, resolved, out)
        if any(not p.is_warning for p in out.items[bad:]):
            return None
        secrets = _secrets(resolved)
        add_secret_values(secrets)
        if text is None or _has_references(document):
            from deployer.companions.diff import render_document

            content = render_document(resolved, reveal=True, kind=kind)
        else:
            content = text
        mode, evidence = apply_mode(kind, state.schema_minor, state.flags)
        return CompanionFile.from_content(
            declared.path,
            content.encode("utf-8"),
            mode=declared.mode,
            owner=declared.owner,
            kind=kind,
            secret_values=tuple(sorted(secrets)),
            apply=mode,
            reload=evidence,
        )

    def _validate(
        self,
        state: DesiredState,
        declared: Declared,
        kind: str,
        document: object,
        out: ItemProblems,
    ) -> None:
        path = str(declared.path)
        if state.schema_minor not in supported_minors():
            out.add(path, f"no companion-file facts for Kubernetes {state.schema_minor}")
            return
        from deployer.companions.validate import validate_companion

        where = f" (template {declared.template}, rendered line {{}})" if declared.template else ""
        for problem in validate_companion(
            path, document, state.schema_minor, kind=kind, options=_options(state)
        ):
            at = where.format(problem.line) if where and problem.line else ""
            out.add(
                path,
                f"{problem.message}{at}",
                flag=problem.flag,
                hint=problem.hint or "kube-apiserver would refuse to start with this file",
                is_warning=problem.is_warning,
            )
