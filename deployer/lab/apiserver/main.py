"""Start the kube-apiserver stand-in: parse, validate, load files, serve, shut down gracefully.

Why this order: it is the real binary's (``cmd/kube-apiserver/app/server.go``). pflag errors are
printed plainly (``Error: unknown flag: --foo``, exit 1) before logging starts; then the ``FLAG:``
dump (``-v>=1``), ``Complete()`` (the signing key), ``Validate()`` (all errors in one ``"command
failed"`` line, exit 1), the ``Version:`` line, the files the config needs, and only then the
secure port. On SIGTERM ``/readyz`` fails first, the listener closes after the shutdown delay,
and the process exits 0.

Lab-only behaviour, from the environment kubelet's stand-in sets (see the lab contract):
``DEPLOYER_LAB_VERSION``, ``DEPLOYER_LAB_MOUNTS``, ``DEPLOYER_LAB_FAULTS``,
``DEPLOYER_LAB_READY_DELAY_S``, ``DEPLOYER_LAB_SLOW_S``, ``DEPLOYER_LAB_SHUTDOWN_DELAY_S``. An
unspecified ``--bind-address`` (``0.0.0.0``) binds ``--advertise-address`` instead, because all
lab nodes share one machine and port 6443.
"""

from __future__ import annotations

import errno
import os
import socket
import ssl
import sys
import threading
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TextIO

from deployer.lab.apiserver.app import ApiServerApp, AppConfig
from deployer.lab.apiserver.auth import Identity, parse_token_file
from deployer.lab.apiserver.companions.hooks import (
    LoadedCompanions,
    audit_observers,
    companion_problems,
    load_companions,
    start_reloads,
)
from deployer.lab.apiserver.configmaps import store_path
from deployer.lab.apiserver.files import (
    complete_file_error,
    config_file_error,
    serving_file_error,
)
from deployer.lab.apiserver.flags import (
    FlagParseError,
    ParsedArgs,
    Stage,
    StartupProblem,
    UnsupportedVersion,
    aggregate,
    parse_args,
    startup_problems,
)
from deployer.lab.apiserver.klog import Klog, go_quote
from deployer.lab.apiserver.lifecycle import Lifecycle
from deployer.lab.apiserver.metrics import RequestMetrics
from deployer.lab.apiserver.mounts import MountTable
from deployer.lab.apiserver.probes import EtcdProbe
from deployer.lab.apiserver.server import ApiHttpsServer, ServingConfig, make_tls_context
from deployer.lab.faults import read_faults
from deployer.versions import version_table

__all__ = ["DEFAULT_VERSION", "main"]

#: The version served when kubelet's stand-in does not say (the project's default).
DEFAULT_VERSION = version_table().default.patch
_WHERE_FAILED = "run.go:72"
_USAGE = (
    "The Kubernetes API server validates and configures data\n"
    "for the api objects which include pods, services, replicationcontrollers, and\n"
    "others. The API Server services REST operations and provides the frontend to the\n"
    "cluster's shared state through which all other components interact.\n\n"
    "Usage:\n  kube-apiserver [flags]\n"
)


def main(
    argv: Sequence[str],
    environ: Mapping[str, str] | None = None,
    stdout: TextIO | None = None,
    stderr: TextIO | None = None,
    shutdown: threading.Event | None = None,
) -> int:
    """Run the stand-in until ``shutdown`` is set; return the real binary's exit status.

    Args:
        argv: the arguments after the program name.
        environ: the environment (``os.environ`` by default).
        stdout: where ``--version``/``--help`` print.
        stderr: where logs go.
        shutdown: set by the SIGTERM handler (see ``__main__``); none: only a test stops it.
    """
    env = os.environ if environ is None else environ
    shutdown = threading.Event() if shutdown is None else shutdown
    out = sys.stdout if stdout is None else stdout
    err = sys.stderr if stderr is None else stderr
    version = env.get("DEPLOYER_LAB_VERSION", DEFAULT_VERSION).lstrip("v") or DEFAULT_VERSION
    minor = ".".join(version.split(".")[:2])
    try:
        args = parse_args(minor, argv)
    except (FlagParseError, UnsupportedVersion) as exc:
        err.write(f"Error: {exc}\n")
        err.flush()
        return 1
    for warning in args.warnings:
        err.write(warning.rstrip("\n") + "\n")
    err.flush()
    if args.help_requested:
        out.write(_USAGE)
        out.flush()
        return 0
    log = Klog(err, verbosity=args.number("v", 0))
    if args.positional:
        quoted = " ".join(go_quote(a) for a in args.positional)
        return _failed(log, f'"kube-apiserver" does not take any arguments, got [{quoted}]')
    problems = startup_problems(args)
    early = _stage_failure(problems, Stage.PRE_RUN) or _stage_failure(problems, Stage.LOGGING)
    if early is not None:
        return _failed(log, early)
    if args.version_requested != "false":
        out.write(f"Kubernetes v{version}\n")
        out.flush()
        return 0
    return _run(args, problems, version, env, log, shutdown)


def _run(
    args: ParsedArgs,
    problems: Sequence[StartupProblem],
    version: str,
    env: Mapping[str, str],
    log: Klog,
    shutdown: threading.Event,
) -> int:
    if log.v(1):
        for name, value in args.dump:
            log.info("flags.go:64", f"FLAG: --{name}={go_quote(value)}")
    try:
        mounts = MountTable.from_json(env.get("DEPLOYER_LAB_MOUNTS"))
    except (ValueError, KeyError) as exc:
        return _failed(log, f"DEPLOYER_LAB_MOUNTS: {exc}")
    problems = [*problems, *companion_problems(args, mounts, version, problems)]
    advertise = args.text("advertise-address")
    if advertise and not args.text("external-hostname"):
        log.info("options.go:228", f"external host was not specified, using {advertise}")
    # Complete(): service ranges first, then certificates and the signing key, then the token
    # lifetime bounds; the first error stops it.
    complete = [p for p in problems if p.stage is Stage.COMPLETE]
    ranges = [p for p in complete if p.flag != "service-account-max-token-expiration"]
    problem = (
        (ranges[0].message if ranges else None)
        or complete_file_error(args, mounts)
        or (complete[0].message if complete else None)
        or _stage_failure(problems, Stage.VALIDATE)
    )
    if problem is not None:
        return _failed(log, problem)
    log.info("server.go:142", f"Version: v{version}")
    log.info_s("server.go:144", "Golang settings", GOGC="", GOMAXPROCS="", GOTRACEBACK="")
    faults_path = Path(env["DEPLOYER_LAB_FAULTS"]) if env.get("DEPLOYER_LAB_FAULTS") else None
    faults = read_faults(faults_path) if faults_path else {}
    if faults.get("apiserver-crash", False):
        return _failed(log, "error creating storage factory: context deadline exceeded")
    host, port = _listen_host(args), args.number("secure-port", 6443)
    # The config build opens the listener first (SecureServingOptions.ApplyTo), then reads files.
    try:
        listener = _listen(host, port)
    except OSError as exc:
        return _failed(log, _listen_error(host, port, exc))
    problem = (
        serving_file_error(args, mounts)
        or _stage_failure(problems, Stage.CONFIG)
        or config_file_error(args, mounts)
    )
    companions = load_companions(args, mounts, version) if problem is None else None
    for where, warning in companions.warnings if companions else ():
        log.warning(where, warning)
    problem = problem or (companions.error if companions else None)
    if problem is not None or companions is None:
        listener.close()
        return _failed(log, problem or "")
    return _serve(
        args, version, env, log, mounts, faults_path, faults, listener, shutdown, companions
    )


def _serve(
    args: ParsedArgs,
    version: str,
    env: Mapping[str, str],
    log: Klog,
    mounts: MountTable,
    faults_path: Path | None,
    faults: Mapping[str, bool],
    listener: socket.socket,
    shutdown: threading.Event,
    companions: LoadedCompanions,
) -> int:
    client_ca_flag = args.text("client-ca-file")
    try:
        context = make_tls_context(
            mounts.host_file(args.text("tls-cert-file")),
            mounts.host_file(args.text("tls-private-key-file")),
            mounts.host_file(client_ca_flag) if client_ca_flag else None,
        )
        tokens: dict[str, Identity] = {}
        if args.text("token-auth-file"):
            tokens = parse_token_file(mounts.read_bytes(args.text("token-auth-file")).decode())
    except (ssl.SSLError, OSError, ValueError, UnicodeDecodeError) as exc:
        listener.close()
        return _failed(
            log,
            f"invalid serving cert keypair: {_go_keypair_error(exc)}"
            if isinstance(exc, ssl.SSLError)
            else str(exc),
        )
    host, port = listener.getsockname()[:2]
    ready_s = _env_seconds(env, "DEPLOYER_LAB_READY_DELAY_S", 1.0)
    if faults.get("apiserver-slow", False):
        ready_s = _env_seconds(env, "DEPLOYER_LAB_SLOW_S", 30.0)
    lifecycle = Lifecycle(ready_s, shutdown=shutdown)
    advertised = args.text("advertise-address") or host
    node_root = env.get("DEPLOYER_LAB_NODE_ROOT")
    config = AppConfig(
        version=version,
        authorization_modes=args.items("authorization-mode") or ("AlwaysAllow",),
        server_address=f"{advertised}:{port}",
        faults_file=faults_path,
        kubelet_state=Path(node_root) / "var/lib/kubelet/state.json" if node_root else None,
        node_name=env.get("DEPLOYER_LAB_NODE_NAME", ""),
        node_ip=advertised,
        configmaps=store_path(Path(node_root)) if node_root else None,
    )
    metrics = RequestMetrics(time.time())
    start_reloads(args, mounts, version, companions, metrics, log, shutdown, env)
    app = ApiServerApp(config, _etcd_probe(args, mounts, metrics), lifecycle, metrics, log)
    serving = ServingConfig(anonymous_auth=args.flag("anonymous-auth", True), tokens=tokens)
    server = ApiHttpsServer(listener, context, app, serving, log)
    server.observers.extend(audit_observers(companions))
    return _run_until_terminated(server, args, env, log, lifecycle, host, port)


def _run_until_terminated(
    server: ApiHttpsServer,
    args: ParsedArgs,
    env: Mapping[str, str],
    log: Klog,
    lifecycle: Lifecycle,
    host: str,
    port: int,
) -> int:
    # Go listens dual-stack on an unspecified address and prints it as [::].
    if host in ("0.0.0.0", "::"):  # noqa: S104 - naming the unspecified address, not binding it
        serving = f"[::]:{port}"
    else:
        serving = f"{host}:{port}" if ":" not in host else f"[{host}]:{port}"
    log.info_s(
        "dynamic_serving_content.go:135",
        "Starting controller",
        name=f"serving-cert::{args.text('tls-cert-file')}::{args.text('tls-private-key-file')}",
    )
    log.info("secure_serving.go:213", f"Serving securely on {serving}")
    log.info_s("tlsconfig.go:243", "Starting DynamicServingCertificateController")
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.2}, name="serve", daemon=True
    )
    thread.start()
    # Wake up regularly: a signal handler runs in the main thread between waits.
    while not lifecycle.wait_for_shutdown(0.5):
        pass
    delay_s = args.seconds("shutdown-delay-duration", 0.0) or _env_seconds(
        env, "DEPLOYER_LAB_SHUTDOWN_DELAY_S", 1.0
    )
    event = "[graceful-termination] shutdown event"
    log.info_s("genericapiserver.go:544", event, name="ShutdownInitiated")
    threading.Event().wait(delay_s)  # readyz fails during this window, as for real
    log.info_s("genericapiserver.go:547", event, name="AfterShutdownDelayDuration")
    server.shutdown()
    server.server_close()
    log.info_s("genericapiserver.go:611", event, name="NotAcceptingNewRequest")
    log.info("secure_serving.go:258", f"Stopped listening on {serving}")
    log.info_s("genericapiserver.go:701", event, name="InFlightRequestsDrained")
    log.info("genericapiserver.go:725", "[graceful-termination] apiserver is exiting")
    return 0


def _etcd_probe(args: ParsedArgs, mounts: MountTable, metrics: RequestMetrics) -> EtcdProbe:
    """Build the etcd health probe from ``--etcd-servers`` and the ``--etcd-*file`` flags."""
    servers = args.items("etcd-servers")
    if not any(server.startswith("https:") for server in servers):
        return EtcdProbe(servers, None, on_request=metrics.observe_etcd)
    try:
        ca = args.text("etcd-cafile")
        # Without --etcd-cafile Go uses the system roots; loading them costs memory, so only then.
        context = ssl.create_default_context(cafile=str(mounts.host_file(ca)) if ca else None)
        cert, key = args.text("etcd-certfile"), args.text("etcd-keyfile")
        if cert and key:
            context.load_cert_chain(str(mounts.host_file(cert)), str(mounts.host_file(key)))
    except (OSError, ssl.SSLError) as exc:
        return EtcdProbe(servers, None, tls_error=str(exc))
    return EtcdProbe(servers, context, on_request=metrics.observe_etcd)


def _go_keypair_error(exc: ssl.SSLError) -> str:
    """Go's ``tls.X509KeyPair`` text for what OpenSSL reports about a serving pair.

    kube-apiserver loads ``--tls-cert-file``/``--tls-private-key-file`` with ``tls.X509KeyPair``
    and wraps its error as ``invalid serving cert keypair: %v`` (``k8s.io/apiserver``
    ``pkg/server/dynamiccertificates/dynamic_serving_content.go``), so a key that does not match
    the certificate stops the binary at start with the texts below (``crypto/tls``).
    """
    reason = (exc.reason or "").upper()
    if reason == "KEY_VALUES_MISMATCH":
        return "tls: private key does not match public key"
    if reason in ("NO_START_LINE", "PEM_LIB", "NO_CERTIFICATE_SET"):
        return "tls: failed to find any PEM data in certificate input"
    return str(exc)


def _listen_host(args: ParsedArgs) -> str:
    """Return where to listen: ``--bind-address``, or the advertised address when unspecified."""
    bind = args.text("bind-address", "0.0.0.0")  # noqa: S104 - kube-apiserver's default
    if bind in ("0.0.0.0", "::"):  # noqa: S104 - recognising the default, not binding it
        return args.text("advertise-address", bind)
    return bind


def _env_seconds(env: Mapping[str, str], name: str, default: float) -> float:
    try:
        return float(env.get(name, default))
    except ValueError:
        return default


def _listen(host: str, port: int) -> socket.socket:
    """Open the secure port's listening socket (``SO_REUSEADDR``, as Go's listener)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(128)
    except OSError:
        sock.close()
        raise
    return sock


def _listen_error(host: str, port: int, exc: OSError) -> str:
    """Render a bind failure as Go's ``net.Listen`` error inside kube-apiserver's wrapper."""
    reasons = {
        errno.EADDRINUSE: "address already in use",
        errno.EADDRNOTAVAIL: "cannot assign requested address",
        errno.EACCES: "permission denied",
    }
    reason = reasons.get(exc.errno or 0, (exc.strerror or str(exc)).lower())
    address = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    return (
        f"failed to create listener: failed to listen on {address}: "
        f"listen tcp {address}: bind: {reason}"
    )


def _stage_failure(problems: Sequence[StartupProblem], stage: Stage) -> str | None:
    """Return what the binary logs when ``stage`` fails (aggregated where it aggregates)."""
    messages = [p.message for p in problems if p.stage is stage]
    if not messages:
        return None
    return aggregate(messages) if stage in (Stage.LOGGING, Stage.VALIDATE) else messages[0]


def _failed(log: Klog, message: str) -> int:
    """Log the real ``"command failed"`` line and return kube-apiserver's exit status 1."""
    log.error_s(_WHERE_FAILED, "command failed", err=message)
    return 1
