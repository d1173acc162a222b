"""Render a host's kube-apiserver static pod manifest from its desired state.

Why a renderer object: compiling a Jinja template costs milliseconds, rendering it
microseconds. A :class:`ManifestRenderer` owns one Jinja ``Environment`` and therefore one
cache of compiled templates, so rendering 1,000 hosts compiles each template once. The cache
lives and dies with the renderer; nothing is cached at module level.

Template lookup, first match wins (``manifest_template`` may differ per host or group):

1. an absolute path is read as is;
2. a relative name is looked up in ``template_dirs`` in order (the caller passes the inventory's
   folder first, then extra template folders);
3. the templates packaged with deployer (``deployer/templates``). ``builtin/<name>`` always
   names a packaged template, so an override can ``{% extends "builtin/kube-apiserver.yaml.j2" %}``
   even when it shadows that name.

Rendering is pure: no network, no clock, no randomness; the same state gives the same bytes.
"""

from __future__ import annotations

import functools
import traceback
from collections.abc import Callable, Iterable, Mapping, Sequence
from importlib.resources import files
from pathlib import Path

import jinja2

from deployer.desired import DesiredState
from deployer.errors import InputProblem, TemplateError
from deployer.model.manifest import Manifest
from deployer.render.adoption import yaml_json, yaml_key
from deployer.render.context import build_context
from deployer.render.quoting import UnquotedValueError, finalize, yaml_bool, yaml_int, yaml_str

__all__ = ["BUILTIN_PREFIX", "ManifestRenderer", "render_manifest", "render_manifests"]

#: Names starting with this always resolve to a packaged template.
BUILTIN_PREFIX = "builtin/"

_QUOTE_CACHE_SIZE = 65536
_PACKAGE = "deployer"
_PACKAGED_DIR = "templates"


class _TemplateLoader(jinja2.BaseLoader):
    """Absolute path, then ``template_dirs``, then the packaged templates."""

    def __init__(self, template_dirs: Sequence[Path]) -> None:
        self._dirs = tuple(Path(d) for d in template_dirs)

    def searched(self) -> str:
        """Describe where templates are looked up, for 'not found' messages."""
        places = [str(d) for d in self._dirs]
        places.append("deployer's packaged templates")
        return ", ".join(places)

    def get_source(
        self, environment: jinja2.Environment, template: str
    ) -> tuple[str, str | None, Callable[[], bool] | None]:
        if template.startswith(BUILTIN_PREFIX):
            return self._packaged(template, template[len(BUILTIN_PREFIX) :])
        path = Path(template)
        # Names come from the operator's inventory (trusted), so unlike Jinja's
        # FileSystemLoader we accept ".." (e.g. "../shared/apiserver.yaml.j2").
        candidates = [path] if path.is_absolute() else [d / path for d in self._dirs]
        for candidate in candidates:
            if candidate.is_file():
                return candidate.read_text(encoding="utf-8"), str(candidate), lambda: True
        if path.is_absolute():
            raise jinja2.TemplateNotFound(template)
        return self._packaged(template, template)

    @staticmethod
    def _packaged(template: str, name: str) -> tuple[str, str | None, Callable[[], bool] | None]:
        resource = files(_PACKAGE).joinpath(_PACKAGED_DIR, *name.split("/"))
        if ".." in name.split("/") or not resource.is_file():
            raise jinja2.TemplateNotFound(template)
        return resource.read_text(encoding="utf-8"), str(resource), lambda: True


def _template_location(exc: BaseException) -> tuple[str | None, int | None]:
    """Return the template file and line a render-time error came from, when known.

    Jinja rewrites tracebacks so that frames of template code carry the template's file name
    and line; Python frames end in ``.py``.
    """
    for frame in reversed(traceback.extract_tb(exc.__traceback__)):
        if not frame.filename.endswith(".py") and not frame.filename.startswith("<frozen"):
            return frame.filename, frame.lineno
    return None, None


class ManifestRenderer:
    """Renders manifests with one Jinja environment (and its compiled-template cache).

    Create one per run (or per batch of hosts) and render every host with it. It may be shared
    between threads: Jinja's template cache and ``functools.lru_cache`` are thread-safe, and
    rendering changes nothing else.

    Args:
        template_dirs: folders searched, in order, for relative ``manifest_template`` names
            before the packaged templates (the inventory's folder first).
    """

    def __init__(self, template_dirs: Sequence[Path] = ()) -> None:
        self._loader = _TemplateLoader(template_dirs)
        self._env = jinja2.Environment(
            loader=self._loader,
            undefined=jinja2.StrictUndefined,
            autoescape=False,  # noqa: S701  (YAML, not HTML: every value goes through yaml_str)
            keep_trailing_newline=True,
            trim_blocks=True,
            lstrip_blocks=True,
            finalize=finalize,
            # One run renders with the templates as they were when it started; no stat() per host.
            auto_reload=False,
            cache_size=64,
        )
        # Most values (volume paths, cluster-wide flags) repeat from host to host: memoize the
        # quoting per renderer. Bounded, and gone with the renderer.
        self._env.filters["yaml_str"] = functools.lru_cache(maxsize=_QUOTE_CACHE_SIZE)(yaml_str)
        self._env.filters["yaml_int"] = yaml_int
        self._env.filters["yaml_bool"] = yaml_bool
        self._env.filters["yaml_json"] = yaml_json
        self._env.filters["yaml_key"] = yaml_key

    @property
    def environment(self) -> jinja2.Environment:
        """The Jinja environment (loader, quoting filters): companion templates share it."""
        return self._env

    def _template_problem(self, state: DesiredState, exc: Exception) -> InputProblem:
        origin = state.host.origins.get("manifest_template")
        name = state.template
        if isinstance(exc, jinja2.TemplateNotFound):
            return InputProblem(
                f"manifest template {exc.name!r} not found (looked in: {self._loader.searched()})",
                file=origin.file if origin else None,
                line=origin.line if origin else None,
                host=state.host.name,
                hint="manifest_template is a path relative to the inventory, or a template name",
            )
        if isinstance(exc, jinja2.TemplateSyntaxError):
            return InputProblem(
                f"template syntax error: {exc.message}",
                file=exc.filename or name,
                line=exc.lineno,
                host=state.host.name,
            )
        file, line = _template_location(exc)
        detail = (
            str(exc)
            if isinstance(exc, jinja2.TemplateError | UnquotedValueError)
            else (f"{type(exc).__name__}: {exc}")
        )
        return InputProblem(
            f"template {name!r} failed to render: {detail}",
            file=file or name,
            line=line,
            host=state.host.name,
        )

    def render(
        self, state: DesiredState, *, file_digests: Mapping[str, str] | None = None
    ) -> Manifest:
        """Render ``state``'s manifest, to be written at ``state.manifest_path``.

        Args:
            state: the host's desired state.
            file_digests: host path -> content digest; when given, the digests of
                ``state.checksum_files`` go into the ``deployer/file-checksums`` annotation.

        Raises:
            TemplateError: the variables feeding the template are unusable, or the template is
                missing, malformed, prints an unquoted value or uses an undefined variable.
        """
        context, problems = build_context(state, file_digests)
        if problems:
            raise TemplateError(problems)
        try:
            template = self._env.get_template(state.template)
            text = template.render(context.as_dict())
        except Exception as exc:  # template code is operator input: report what it raised
            raise TemplateError([self._template_problem(state, exc)]) from exc
        if not text.endswith("\n"):
            text += "\n"
        return Manifest.from_content(state.manifest_path, text.encode("utf-8"))


def render_manifest(
    state: DesiredState,
    *,
    template_dirs: Sequence[Path] = (),
    file_digests: Mapping[str, str] | None = None,
    renderer: ManifestRenderer | None = None,
) -> Manifest:
    """Render one host's manifest (see :meth:`ManifestRenderer.render`).

    Pass ``renderer`` when rendering many hosts: a new renderer compiles the template again.
    With a ``renderer``, ``template_dirs`` is ignored (the renderer has its own).

    Raises:
        TemplateError: see :meth:`ManifestRenderer.render`.
    """
    engine = renderer if renderer is not None else ManifestRenderer(template_dirs)
    return engine.render(state, file_digests=file_digests)


def render_manifests(
    states: Iterable[DesiredState],
    *,
    template_dirs: Sequence[Path] = (),
    file_digests: Mapping[str, Mapping[str, str]] | None = None,
) -> dict[str, Manifest]:
    """Render every host's manifest with one renderer, reporting every host's problems at once.

    Args:
        states: the hosts' desired states.
        template_dirs: where relative ``manifest_template`` names are looked up.
        file_digests: host name -> (host path -> digest); a host missing here gets no
            checksum annotation.

    Returns:
        host name -> manifest, in the order of ``states``.

    Raises:
        TemplateError: one or more hosts failed to render; all their problems are listed.
    """
    renderer = ManifestRenderer(template_dirs)
    manifests: dict[str, Manifest] = {}
    problems: list[InputProblem] = []
    for state in states:
        digests = file_digests.get(state.host.name) if file_digests is not None else None
        try:
            manifests[state.host.name] = renderer.render(state, file_digests=digests)
        except TemplateError as err:
            problems.extend(err.problems)
    if problems:
        raise TemplateError(problems)
    return manifests
