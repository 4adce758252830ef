"""The ``biasviz`` command: open the app, or train / predict / inspect from a terminal.

======================================  =================================================
``biasviz`` (or ``biasviz gui``)        open the desktop app
``biasviz train [options]``             train a model, print its validation accuracy,
                                        optionally save it (``--out model.npz``) or the
                                        whole session (``--out run.biasviz``)
``biasviz code [options] --out F.py``   write the run as plain PyTorch (.py or .ipynb)
``biasviz animate --train [options]``   train, recording a timeline, and write it as an
``--out run.gif``                       animated GIF or an MP4
``biasviz animate run.biasviz``         the same from a saved session's timeline
``--out run.gif``
``biasviz predict PARAMS IMAGE``        classify a picture with a saved model
``biasviz info PARAMS|SESSION``         describe a saved model (parameters, metadata,
                                        counts per layer) or a session (run, timeline)
======================================  =================================================

Errors meant for the user (bad arguments, missing or damaged files, impossible
settings) are printed as one line, ``biasviz: error: ...``, with exit status 2 for
usage errors and 1 for bad files or data; Ctrl+C exits with 130.  Set
``BIASVIZ_DEBUG=1`` to get the Python traceback instead.

Importing this module must stay cheap: the app's start-up goes through it, so only the
standard library's ``os`` and ``sys`` are imported here; argparse, numpy, torch and Qt
are imported by the functions that need them.
"""

from __future__ import annotations

import os
import sys

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (saves ~8 ms)
if TYPE_CHECKING:  # pragma: no cover - annotations only
    import argparse

    from biasviz.core.paramfiles import ModelFile

PROG = "biasviz"
EXIT_OK = 0
EXIT_FAILURE = 1  # bad files or data, diverged training
EXIT_USAGE = 2  # bad arguments or impossible settings
EXIT_INTERRUPTED = 130  # 128 + SIGINT, what shells report for Ctrl+C
EXIT_TERMINATED = 143  # 128 + SIGTERM: stopped like Ctrl+C (no half-written file)

COMMANDS = ("gui", "train", "code", "animate", "predict", "info")
_TOP_LEVEL_FLAGS = ("-h", "--help", "-V", "--version")

BAR_INTERVAL_S = 0.1  # the progress bar redraws at most ten times a second


class UsageError(Exception):
    """Arguments that make no sense together; reported like an argparse error (exit 2)."""


# -- output helpers ---------------------------------------------------------------------
def printable(text: object) -> str:
    """``text`` safe for a terminal: every non-printable character (escape sequences,
    carriage returns, newlines, bidi overrides, C1 controls) shown as a Python escape
    such as ``\\x1b``.  Text from files (names, metadata) goes through this, so a file
    cannot retitle the window, clear the screen, write the clipboard or fake lines."""
    text = str(text)
    if text.isprintable():
        return text
    return "".join(ch if ch.isprintable() else ch.encode("unicode_escape",
                                                         "backslashreplace").decode("ascii")
                   for ch in text)


def _error(message: str) -> None:
    """One line on stderr: ``biasviz: error: message``."""
    text = printable(" ".join(str(message).split())) or "unknown error"
    print(f"{PROG}: error: {text}", file=sys.stderr, flush=True)


def _note(message: str) -> None:
    print(f"{PROG}: {printable(' '.join(str(message).split()))}", file=sys.stderr, flush=True)


def _safe_streams() -> None:
    """Never crash on a character the terminal's encoding lacks (·, →, σ)."""
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            try:
                reconfigure(errors="backslashreplace")
            except (ValueError, OSError):  # pragma: no cover - exotic streams
                pass


def _is_tty(stream) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError, OSError):
        return False


class StatusLine:
    """A single carriage-return status line on a terminal (no dependency needed)."""

    def __init__(self, stream, interval: float = BAR_INTERVAL_S) -> None:
        self.stream = stream
        self.interval = interval
        self._shown = False
        self._last = 0.0
        self._width = 0

    def update(self, text: str, force: bool = False) -> None:
        import time

        now = time.monotonic()
        if not force and now - self._last < self.interval:
            return
        self._last = now
        import shutil

        columns = max(20, shutil.get_terminal_size((80, 24)).columns - 1)
        text = text[:columns]
        pad = max(0, self._width - len(text))
        self.stream.write("\r" + text + " " * pad)
        self.stream.flush()
        self._width = len(text)
        self._shown = True

    def clear(self) -> None:
        """Erase the line so that a normal line can be printed in its place."""
        if self._shown:
            self.stream.write("\r" + " " * self._width + "\r")
            self.stream.flush()
            self._shown = False
            self._width = 0


def _bar(fraction: float, width: int = 20) -> str:
    fraction = min(max(fraction, 0.0), 1.0)
    filled = int(round(fraction * width))
    return "[" + "#" * filled + "-" * (width - filled) + "]"


def _megabytes(n: int) -> str:
    return f"{n / 1e6:.1f} MB"


# -- argument parsing -----------------------------------------------------------------------
def _parser_class():
    import argparse

    class Parser(argparse.ArgumentParser):
        """argparse, but usage errors are one ``biasviz: error:`` line (exit 2)."""

        def error(self, message: str):  # type: ignore[override]
            hint = f"try '{self.prog} --help'"
            raise UsageError(f"{message} ({hint})")

    return Parser


def _seed(text: str) -> int:
    """A seed torch and numpy both take: 0 ≤ seed < 2**63 (argparse's ``type``)."""
    import argparse

    try:
        value = int(text.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {printable(text)!r}") from None
    if not 0 <= value < 2**63:
        raise argparse.ArgumentTypeError(f"must be between 0 and 2**63 - 1, got {value}")
    return value


def _init_std(text: str) -> float:
    """A standard deviation whose random start stays finite (argparse's ``type``)."""
    import argparse
    import math

    from biasviz.core.paramfiles import MAX_INIT_STD

    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {printable(text)!r}") from None
    if not (math.isfinite(value) and 0 <= value <= MAX_INIT_STD):
        raise argparse.ArgumentTypeError(
            f"must be a number from 0 to {MAX_INIT_STD:g}, got {printable(text)}")
    return value


def _activation(text: str) -> str:
    """A hidden-layer activation biasviz knows by name (argparse's ``type``): a typo is a
    bad argument (exit 2; it was refused as a bad file, exit 1).  Whether the file's
    network can be shown with it is the file's matter."""
    import argparse

    from biasviz.core.paramfiles import KNOWN_ACTIVATIONS, normalise_activation

    if normalise_activation(text) not in KNOWN_ACTIVATIONS:
        raise argparse.ArgumentTypeError(
            f"unknown activation {printable(text)!r}: choose one of "
            f"{', '.join(KNOWN_ACTIVATIONS)} (biasviz computes relu)")
    return text


def _add_run_options(train: argparse.ArgumentParser) -> None:
    """The options that describe a run (data, model, training): shared by ``train`` and
    ``code``."""
    data = train.add_argument_group("data")
    data.add_argument("--dataset", default="sample", metavar="NAME|FOLDER",
                      help="sample, mnist, fashion-mnist, kmnist (downloaded once), or a "
                      "folder with MNIST-style IDX files (default sample)")
    data.add_argument("--task", default="3,7",
                      help="two classes ('3,7': 3 is the neuron's 'yes') or 'all' "
                      "(default 3,7)")
    model = train.add_argument_group("model")
    model.add_argument("--model", choices=("single", "linear", "mlp", "cnn"), default=None,
                       help="default: single for two classes, linear for all ten")
    model.add_argument("--bias-mode", choices=("scalar", "per_pixel", "none"), default=None,
                       type=lambda text: text.strip().lower().replace("-", "_"), help="single neuron: one bias, one per pixel, or none "
                       "(default scalar)")
    model.add_argument("--hidden", type=int, default=None, metavar="N",
                       help="hidden neurons of the mlp (default 32)")
    model.add_argument("--channels", type=int, default=None, metavar="N",
                       help="kernels of the cnn (default 8)")
    model.add_argument("--kernel", type=int, default=None, metavar="K",
                       help="kernel size of the cnn: 3, 5 or 7 (default 5)")
    model.add_argument("--init", choices=("random", "zeros", "standard"), default=None,
                       help="initial parameters: random normal(0, std), zeros, or standard "
                       "(uniform ±1/√inputs, PyTorch's default). The model's recipe: "
                       "default random for the single neuron (the chapter's), standard "
                       "for linear, mlp and cnn")
    model.add_argument("--init-std", type=_init_std, default=None, metavar="STD",
                       help="standard deviation of the random init (default 1.0); "
                       "implies --init random")
    opt = train.add_argument_group("training")
    opt.add_argument("--optimizer", choices=("sgd", "adam"), default=None,
                     help="default sgd")
    opt.add_argument("--loss", choices=("mnist", "bce"), default=None,
                     help="two-class loss: the chapter's mnist_loss or binary cross-entropy "
                     "(default mnist for the single neuron, bce for mlp and cnn; ten "
                     "classes always use cross-entropy)")
    opt.add_argument("--epochs", type=int, default=None, help="default 20")
    opt.add_argument("--lr", type=float, default=None, metavar="RATE",
                     help="learning rate (default 1.0 for the single neuron, 0.1 for "
                     "the others)")
    opt.add_argument("--batch-size", type=int, default=None, metavar="N",
                     help="default 256 for the single neuron, 32 for the others")
    opt.add_argument("--seed", type=_seed, default=None,
                     help="seed of the initial parameters and the batch order (default 0)")


def build_parser() -> argparse.ArgumentParser:
    """The full argument parser (imports argparse and biasviz's version only)."""
    import argparse

    import biasviz

    Parser = _parser_class()
    parser = Parser(
        prog=PROG,
        description=(
            "See and feel what weights and biases do inside a neural network, on MNIST "
            "digits. Without a command, opens the desktop app (options: biasviz gui --help)."
        ),
    )
    parser.add_argument("-V", "--version", action="version",
                        version=f"%(prog)s {biasviz.__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    gui = sub.add_parser("gui", help="open the desktop app (the default)",
                         description="Open the desktop app. Further arguments go to the app.")
    gui.add_argument("app_args", nargs=argparse.REMAINDER, help=argparse.SUPPRESS)

    train = sub.add_parser(
        "train",
        help="train a model and report its validation accuracy",
        description=(
            "Train a model and print its validation accuracy. Unset options follow the "
            "model's recipe, as in the app: the single neuron trains the way the fastai "
            "chapter does (normal(0, 1) start, SGD, learning rate 1.0, batches of 256, "
            "mnist_loss); linear, mlp and cnn use the standard recipe (PyTorch's "
            "default start, SGD, learning rate 0.1, batches of 32, cross-entropy)."
        ),
    )
    _add_run_options(train)
    out = train.add_argument_group("output")
    out.add_argument("--out", default=None, metavar="FILE",
                     help="save the trained model; the extension picks the format: "
                     ".npz, .pt, .json, .csv (first layer only) or .png (weight pictures); "
                     ".biasviz saves the whole session (history, timeline of the "
                     "parameters, initial and trained weights) for the app, 'biasviz "
                     "animate' and 'biasviz info'")
    out.add_argument("-q", "--quiet", action="store_true",
                     help="no progress on stderr, only the result")

    code = sub.add_parser(
        "code",
        help="write the plain PyTorch code of a run (a script or a notebook)",
        description=(
            "Write the plain PyTorch code of the run that 'biasviz train' with the same "
            "options would do, in the fastai chapter's style: a Python script (.py) or a "
            "notebook (.ipynb). Running it reproduces the run's validation accuracy and "
            "saves the parameters as an .npz that biasviz opens."
        ),
    )
    _add_run_options(code)
    code_out = code.add_argument_group("output")
    code_out.add_argument("--out", required=True, metavar="FILE.py|FILE.ipynb",
                          help="the script or notebook to write")
    code_out.add_argument("--params-out", default=None, metavar="FILE.npz",
                          help="where the code saves the trained parameters "
                          "(default: the --out name with .npz)")
    code_out.add_argument("-q", "--quiet", action="store_true",
                          help="print nothing but errors")

    _add_animate_parser(sub)

    predict = sub.add_parser(
        "predict",
        help="classify a picture with a saved model",
        description=(
            "Classify a picture (PNG, JPEG, ...) with a model saved as .npz, .pt or .json. "
            "The picture is cropped, scaled and centred like an MNIST digit first; dark "
            "ink on light paper is inverted."
        ),
    )
    predict.add_argument("params", metavar="PARAMS",
                         help="model file (.npz, .pt, .pth, .json; a notebook's tensors or "
                         "state_dict too)")
    predict.add_argument("image", metavar="IMAGE", help="picture to classify")
    predict.add_argument("--activation", type=_activation, default=None, metavar="NAME",
                         help="the hidden layer's activation, for a state_dict that does not "
                         "record it (relu is assumed; biasviz computes relu only)")

    info = sub.add_parser(
        "info",
        help="describe a saved model or session",
        description="Describe a saved model (its parameters, metadata and parameter "
        "counts) or a saved session (.biasviz: dataset, task, model, how far it was "
        "trained, its last accuracy and its timeline).",
    )
    info.add_argument("params", metavar="PARAMS|SESSION",
                      help="model file (.npz, .pt, .pth, .json; a notebook's tensors or "
                      "state_dict too) or session (.biasviz)")
    info.add_argument("--activation", type=_activation, default=None, metavar="NAME",
                      help="the hidden layer's activation, for a state_dict that does not "
                      "record it (relu is assumed)")
    return parser


# -- entry point ---------------------------------------------------------------------------
def main(argv: list[str] | None = None) -> int:
    """Run the ``biasviz`` command with ``argv`` (default ``sys.argv[1:]``); return the
    exit status."""
    args = list(sys.argv[1:] if argv is None else argv)
    _safe_streams()
    debug = os.environ.get("BIASVIZ_DEBUG", "") not in ("", "0")
    from biasviz.core.errors import BiasvizError, ConfigError

    # The app is the default; options that are not ours (e.g. Qt's -platform, the app's
    # own --screenshot) go to it.  Only user-facing errors are caught there: a bug in the
    # GUI should show its traceback.
    gui_args = None
    open_path = None
    if not args or (args[0].startswith("-") and args[0] not in _TOP_LEVEL_FLAGS):
        gui_args = args
    elif args[0] == "gui":
        gui_args = args[1:]
    elif args[0] not in COMMANDS and _looks_like_a_file(args[0]):
        # ``biasviz FILE``: the app, opened on that file (the desktop file passes %f).
        open_path, gui_args = args[0], args[1:]
        if not os.path.isfile(open_path):
            _error(f"{open_path}: no such file")
            return EXIT_FAILURE
    if gui_args is not None:
        try:
            return _run_gui(gui_args, open_path)
        except KeyboardInterrupt:
            return EXIT_INTERRUPTED
        except SystemExit as exc:  # the app's own argument parser (--help, bad option)
            return _exit_code(exc)
        except BiasvizError as exc:
            if debug:
                raise
            _error(str(exc))
            return EXIT_FAILURE

    previous = _stop_on_sigterm()
    try:
        ns = build_parser().parse_args(args)
        if ns.command is None:  # pragma: no cover - only flags like --version get here
            return _run_gui([])
        code = {"train": cmd_train, "code": cmd_code, "animate": cmd_animate,
                "predict": cmd_predict, "info": cmd_info}[ns.command](ns)
        return EXIT_TERMINATED if code == EXIT_INTERRUPTED and _TERMINATED else code
    except KeyboardInterrupt:
        _note("terminated" if _TERMINATED else "interrupted")
        return EXIT_TERMINATED if _TERMINATED else EXIT_INTERRUPTED
    except SystemExit as exc:  # argparse's --help and --version
        return _exit_code(exc)
    except (UsageError, ConfigError) as exc:
        if debug:
            raise
        _error(str(exc))
        return EXIT_USAGE
    except (BiasvizError, OSError, ValueError) as exc:
        if debug:
            raise
        _error(_describe(exc))
        return EXIT_FAILURE
    finally:
        _restore_sigterm(previous)


_TERMINATED: list[bool] = []  # non-empty once SIGTERM arrived


class _Terminated(KeyboardInterrupt):
    """SIGTERM, handled like Ctrl+C: the same clean-up runs (no half-written file)."""


def _stop_on_sigterm():
    """Make SIGTERM raise like Ctrl+C in the main thread; returns the old handler."""
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():
        return None

    def handler(signum, frame):  # the signal handler signature
        _TERMINATED.append(True)
        raise _Terminated()

    _TERMINATED.clear()
    try:
        return signal.signal(signal.SIGTERM, handler)
    except (ValueError, OSError):  # pragma: no cover - no signals here
        return None


def _restore_sigterm(previous) -> None:
    import signal

    if previous is not None:
        try:
            signal.signal(signal.SIGTERM, previous)
        except (ValueError, OSError):  # pragma: no cover
            pass


_FILE_SUFFIXES = (".npz", ".npy", ".pt", ".pth", ".bin", ".json", ".biasviz")


def _looks_like_a_file(arg: str) -> bool:
    """``biasviz ARG``: ARG is a file to open, not a mistyped command."""
    return arg.lower().endswith(_FILE_SUFFIXES) or os.path.sep in arg or os.path.isfile(arg)


def _exit_code(exc: SystemExit) -> int:
    code = exc.code
    if code is None:
        return EXIT_OK
    return code if isinstance(code, int) else EXIT_FAILURE


def _describe(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.strerror:
        where = f"{exc.filename}: " if exc.filename else ""
        return f"{where}{exc.strerror}"
    return str(exc) or type(exc).__name__


def _run_gui(app_args: list[str], open_path: str | None = None) -> int:
    try:
        from biasviz.gui.app import run_app
    except ImportError as exc:
        if os.environ.get("BIASVIZ_DEBUG", "") not in ("", "0"):
            raise
        _error(
            f"cannot start the desktop app ({exc}); is PySide6 installed? "
            "The train, predict and info commands work without it"
        )
        return EXIT_FAILURE
    if open_path is None:
        return int(run_app(list(app_args)) or 0)
    return int(run_app(list(app_args), open_path=open_path) or 0)


# -- train --------------------------------------------------------------------------------
def _check_out_path(out: str) -> None:
    """Fail before training, not after, when the output file cannot be written."""
    from pathlib import Path

    from biasviz.core.errors import ParamFileError
    from biasviz.core.paramfiles import FORMATS
    from biasviz.core.sessionfile import EXTENSION as SESSION_EXTENSION

    target = Path(out).expanduser()
    suffix = target.suffix.lower()
    known = [ext for ext, _ in FORMATS] + [SESSION_EXTENSION]
    if suffix not in known:
        raise UsageError(
            f"--out {out}: unknown file type {suffix or '(none)'!r}; choose one of "
            + ", ".join(known)
        )
    if target.is_dir():
        raise ParamFileError(f"--out {out}: it is a folder")
    folder = target.parent
    if not folder.is_dir():
        raise ParamFileError(f"--out {out}: the folder {folder} does not exist")
    from biasviz.core.paramfiles import check_export_target
    from biasviz.core.paramfiles.atomic import check_writable_folder

    # A file really created (and removed) there: permissions, full disks, read-only and
    # pseudo file systems (/proc) fail now rather than after the training.
    try:
        if suffix == SESSION_EXTENSION:
            check_writable_folder(target)
        else:
            check_export_target(target)
    except ParamFileError as exc:
        raise ParamFileError(f"--out {out}: {exc}") from None


class _DownloadProgress:
    """``progress(done, total)`` for dataset downloads, shown on stderr."""

    def __init__(self, name: str, status: StatusLine | None, quiet: bool) -> None:
        self.name = name
        self.status = status
        self.quiet = quiet
        self.started = False

    def __call__(self, done: int, total: int | None) -> None:
        if self.quiet:
            return
        if not self.started:
            self.started = True
            if self.status is None:
                _note(f"downloading {self.name} (once; it is cached afterwards)...")
        if self.status is not None:
            if total:
                text = (f"downloading {self.name} {_bar(done / total)} "
                        f"{_megabytes(done)} / {_megabytes(total)}")
            else:
                text = f"downloading {self.name} {_megabytes(done)}"
            self.status.update(text, force=total is not None and done >= total)

    def finish(self) -> None:
        if self.status is not None:
            self.status.clear()
        if self.started and not self.quiet:
            _note(f"downloaded {self.name}")


def _recipe(ns: argparse.Namespace, task=None):
    """The recipe of the model the options ask for (the app's defaults for it)."""
    from biasviz.core.datasets import Task
    from biasviz.core.recipes import recipe_for

    task = task if task is not None else Task.parse(ns.task)
    kind = ns.model or ("single" if task.is_binary else "linear")
    return kind, recipe_for(kind, task.is_binary)


def _build_spec(ns: argparse.Namespace, task):
    from biasviz.core.spec import ModelSpec

    kind, recipe = _recipe(ns, task)
    kwargs: dict = {"kind": kind, "n_outputs": task.n_outputs, **recipe.spec_fields}
    if ns.init_std is not None and ns.init is None:
        kwargs["init"] = "random"  # a std only means something for a random start
    for name in ("bias_mode", "hidden", "channels", "kernel", "init", "init_std", "seed"):
        value = getattr(ns, name)
        if value is not None:
            kwargs[name] = value
    if ns.bias_mode is not None and kind != "single":
        raise UsageError(f"--bias-mode is for the single neuron, not the {kind} model")
    return ModelSpec(**kwargs)


def _build_config(ns: argparse.Namespace):
    from biasviz.core.spec import TrainConfig

    kwargs: dict = dict(_recipe(ns)[1].config_fields)
    for name in ("epochs", "lr", "batch_size", "optimizer", "loss", "seed"):
        value = getattr(ns, name)
        if value is not None:
            kwargs[name] = value
    return TrainConfig(**kwargs)


def _mention_local_folder(name: str) -> None:
    """``--dataset mnist`` means the download; say so when a folder ./mnist is here."""
    from biasviz.core.datasets import DOWNLOADABLE

    key = str(name).strip()
    if key.lower() in DOWNLOADABLE and os.path.isdir(key):
        _note(f"using the {key} download, not the folder ./{key} here; to train on the "
              f"folder, give its path: --dataset ./{key}")


def _check_dataset(spec: str) -> None:
    """``--dataset`` that names no dataset (a typo, a path that is no folder) is a bad
    argument (exit 2), found before torch is imported; a folder whose files fail to load
    is bad data (exit 1), found when it is read.  It was exit 1 for both."""
    from biasviz.core.datasets import check_dataset_spec
    from biasviz.core.errors import DatasetError

    try:
        check_dataset_spec(spec)
    except DatasetError as exc:
        raise UsageError(str(exc)) from None


def _task_data(dataset, task):
    """The task's part of the data; a dataset without those classes is a data problem
    (exit 1), not a usage error."""
    from biasviz.core.datasets import make_task_data
    from biasviz.core.errors import ConfigError, DatasetError

    try:
        return make_task_data(dataset, task)
    except ConfigError as exc:
        raise DatasetError(str(exc)) from None


def cmd_train(ns: argparse.Namespace) -> int:
    from biasviz.core.datasets import Task

    quiet = bool(ns.quiet)
    interactive = not quiet and _is_tty(sys.stderr)
    status = StatusLine(sys.stderr) if interactive else None

    # Everything that can be checked without data is checked first.
    task = Task.parse(ns.task)
    _check_dataset(ns.dataset)
    spec = _build_spec(ns, task)
    if ns.out is not None:
        _check_out_path(ns.out)
    if ns.loss is not None and not task.is_binary:
        raise UsageError("--loss is for two-class tasks; ten classes use cross-entropy")
    config = _build_config(ns)  # imports torch

    from biasviz.core.datasets import load_dataset

    _mention_local_folder(ns.dataset)
    download = _DownloadProgress(ns.dataset, status, quiet)
    try:
        dataset = load_dataset(ns.dataset, progress=download)
    finally:
        download.finish()
    session = ns.out is not None and _is_session_path(ns.out)
    model = _session_model(dataset, task, spec, config) if session else None
    data = model.data if model is not None else _task_data(dataset, task)
    if not quiet:
        _note(
            f"{dataset.name}: {data.describe()}, {data.n_train:,} training and "
            f"{data.n_valid:,} validation images"
        )

    from biasviz.core.train_loop import make_trainer

    trainer = model.trainer if model is not None else make_trainer(spec, data, config)
    # A session is trained through the app model, as the window does: every step into
    # the timeline, the history and the trained parameters reported per epoch.
    runner = _SessionRecorder(model) if model is not None else trainer
    if not quiet:
        _note(
            f"{spec.describe()}; {config.optimizer.value}, lr {config.lr:g}, batch "
            f"{int(config.batch_size)}, {int(config.epochs)} epoch{'' if int(config.epochs) == 1 else 's'}"
        )
    try:
        accuracy, ended = _train_loop(runner, int(config.epochs), status, quiet)
    except KeyboardInterrupt:
        if status is not None:
            status.clear()
        nothing = "; nothing was written" if ns.out else ""
        stopped = "terminated" if _TERMINATED else "interrupted"  # SIGTERM or Ctrl+C
        _note(f"{stopped} at epoch {trainer.epoch + 1}, step {trainer.step}{nothing}")
        return EXIT_INTERRUPTED
    if ended is not None and ended.reason.value == "diverged":
        _error(ended.message.rstrip(".") + ("; nothing was written" if ns.out else ""))
        return EXIT_FAILURE
    if accuracy is None:  # zero epochs: report the untrained model
        accuracy = trainer.evaluate()[1]

    if model is not None:
        from biasviz.core.sessionfile import write_session

        write_session(os.path.expanduser(ns.out), *model.session_state())
        if not quiet:
            moments = len(model.timeline)
            _note(f"saved the session {ns.out} (step {trainer.step:,}, {moments:,} "
                  f"recorded moment{'s' if moments != 1 else ''})")
    elif ns.out is not None:
        from biasviz.core.paramfiles import export_params, model_file_from_trainer

        export_params(os.path.expanduser(ns.out), model_file_from_trainer(trainer, accuracy))
        if not quiet:
            _note(f"saved {ns.out}")
    print(f"validation accuracy: {accuracy:.4f} ({data.describe()}, {data.n_valid:,} images)")
    return EXIT_OK


def _is_session_path(path: str) -> bool:
    from biasviz.core.sessionfile import EXTENSION

    return str(path).lower().endswith(EXTENSION)


def _session_model(dataset, task, spec, config):
    """An app model (the whole state of a session) on ``dataset`` with its engine."""
    from biasviz.core.app_model import AppModel
    from biasviz.core.errors import ConfigError, DatasetError

    try:
        model = AppModel(dataset, task, spec, config)
    except ConfigError as exc:  # the dataset lacks the task's classes: a data problem
        raise DatasetError(str(exc)) from None
    model.attach_engine()
    return model


class _SessionRecorder:
    """Runs an app model's trainer the way the window's runner does (what
    ``_train_loop`` consumes): every step's parameters go into the model's timeline,
    the steps, epochs and trained parameters are reported to the model at each epoch
    end, and the run's end and finish as the window reports them."""

    def __init__(self, model) -> None:
        self.model = model
        self.trainer = model.trainer

    @property
    def epoch(self) -> int:
        return self.trainer.epoch

    @property
    def step(self) -> int:
        return self.trainer.step

    def run(self, epochs: int):
        from biasviz.core.train_loop import EpochMetrics, StepMetrics, TrainingEnded

        model, trainer = self.model, self.trainer
        model.training_started()
        steps: list = []
        try:
            for event in trainer.run(epochs):
                if isinstance(event, StepMetrics):
                    snap = trainer.snapshot()
                    model.record_step(event, snap)
                    steps.append(event)
                elif isinstance(event, EpochMetrics):
                    model.record_epoch(event)
                    model.training_update(steps, [event], trainer.snapshot())
                    steps = []
                elif isinstance(event, TrainingEnded):
                    model.training_update(steps, [], None)
                    steps = []
                    model.training_ended(event, trainer.snapshot())
                yield event
            if steps:
                model.training_update(steps, [], trainer.snapshot())
        finally:
            model.training_finished()


def _train_loop(trainer, epochs: int, status: StatusLine | None, quiet: bool):
    """Consume ``trainer.run(epochs)``; return (last validation accuracy, end event)."""
    from biasviz.core.train_loop import EpochMetrics, StepMetrics, TrainingEnded

    accuracy: float | None = None
    ended = None
    first_epoch = trainer.epoch
    for event in trainer.run(epochs):
        if isinstance(event, StepMetrics):
            if status is not None:
                acc = "--" if accuracy is None else f"{accuracy:.4f}"
                done = (event.epoch - 1 - first_epoch + event.batch / event.batches_per_epoch)
                status.update(
                    f"epoch {event.epoch - first_epoch}/{epochs} "
                    f"{_bar(done / max(epochs, 1))} step {event.batch}/"
                    f"{event.batches_per_epoch} loss {event.loss:.4f} valid acc {acc}",
                    force=event.batch == event.batches_per_epoch,
                )
        elif isinstance(event, EpochMetrics):
            accuracy = event.valid_accuracy
            if not quiet:
                if status is not None:
                    status.clear()
                print(
                    f"epoch {event.epoch - first_epoch}/{epochs}: train loss "
                    f"{event.train_loss:.4f}, valid loss {event.valid_loss:.4f}, valid "
                    f"accuracy {event.valid_accuracy:.4f} ({event.elapsed:.1f} s)",
                    file=sys.stderr,
                    flush=True,
                )
        elif isinstance(event, TrainingEnded):
            ended = event
    if status is not None:
        status.clear()
    return accuracy, ended


# -- code ---------------------------------------------------------------------------------
def cmd_code(ns: argparse.Namespace) -> int:
    """Write the run that ``train`` would do, with the same options, as plain PyTorch."""
    from pathlib import Path

    from biasviz.core.codegen import (
        CODE_SUFFIXES,
        DatasetRef,
        default_params_path,
        generate_code,
        write_code,
    )
    from biasviz.core.datasets import Task

    out = Path(ns.out).expanduser()
    if out.suffix.lower() not in CODE_SUFFIXES:
        raise UsageError(f"--out {ns.out}: write a .py script or an .ipynb notebook")
    task = Task.parse(ns.task)
    _check_dataset(ns.dataset)
    spec = _build_spec(ns, task)
    if ns.loss is not None and not task.is_binary:
        raise UsageError("--loss is for two-class tasks; ten classes use cross-entropy")
    config = _build_config(ns)  # the same defaults (recipe) as train
    params_out = ns.params_out or default_params_path(out)
    code = generate_code(spec, config, task, DatasetRef.parse(ns.dataset), params_out)
    write_code(out, code)
    if not ns.quiet:
        how = "python " + str(ns.out) if out.suffix.lower() == ".py" else "open it in Jupyter"
        _note(f"wrote {ns.out}: {code.summary}")
        _note(f"{how}; it saves the trained parameters to {params_out}")
    return EXIT_OK


# -- animate ------------------------------------------------------------------------------
def _add_animate_parser(sub) -> None:
    animate = sub.add_parser(
        "animate",
        help="write a training run as an animated GIF or MP4",
        description=(
            "Write a training run as an animation: the weights (as images, with their "
            "colour bar), the loss and accuracy curves growing, and a caption with step, "
            "epoch and accuracy. Give a saved session (its recorded timeline), or --train "
            "to train the run here with the same options as 'biasviz train', recording a "
            "timeline of the parameters on the way."
        ),
    )
    animate.add_argument("source", nargs="?", metavar="SESSION",
                         help="a saved session (.biasviz, e.g. from 'biasviz train --out "
                         "run.biasviz' or the app's File > Save session) to animate")
    animate.add_argument("--train", action="store_true",
                         help="train a run with the options below and animate it")
    _add_run_options(animate)
    out = animate.add_argument_group("animation")
    out.add_argument("--out", required=True, metavar="FILE.gif|FILE.mp4",
                     help="the animation to write (.mp4 needs ffmpeg: pip install "
                     "imageio-ffmpeg)")
    out.add_argument("--size", default="960x540", metavar="WxH",
                     help="frame size in pixels (default 960x540)")
    out.add_argument("--fps", type=float, default=10.0, metavar="N",
                     help="frames per second (default 10)")
    out.add_argument("--frames", type=int, default=100, metavar="N",
                     help="number of frames, chosen over the range among the recorded "
                     "moments (default 100)")
    out.add_argument("--show", choices=("w", "delta", "both"), default="both",
                     help="the weights w, what training added (w - w0), or both side by "
                     "side (default both)")
    out.add_argument("--delta", dest="show", action="store_const", const="delta",
                     help="same as --show delta")
    out.add_argument("--spacing", choices=("even", "early"), default="even",
                     help="frames evenly over the steps, or more of them early on, where "
                     "most of the learning happens (default even)")
    out.add_argument("--first-step", type=int, default=None, metavar="STEP",
                     help="start the animation at this step (default: the first)")
    out.add_argument("--last-step", type=int, default=None, metavar="STEP",
                     help="end it at this step (default: the last)")
    out.add_argument("--budget", type=float, default=64.0, metavar="MB",
                     help="memory for the recorded parameters; longer runs are thinned to "
                     "fit (default 64)")
    out.add_argument("-q", "--quiet", action="store_true", help="print nothing but errors")


def _file_size(n: int) -> str:
    return _megabytes(n) if n >= 1e6 else f"{max(1, round(n / 1e3))} kB"


class _RecordingTrainer:
    """A trainer whose ``run`` also records every step into a timeline and the curves
    (what ``_train_loop`` consumes, unchanged)."""

    def __init__(self, trainer, timeline) -> None:
        from biasviz.core.history import BoundedSeries

        self.trainer = trainer
        self.timeline = timeline
        self.loss = BoundedSeries()
        self.valid_loss = BoundedSeries()
        self.accuracy = BoundedSeries()
        snap = trainer.snapshot()  # the initial parameters: w0
        # where the curves start: the untrained model's validation figures (≈ guessing)
        valid_loss, accuracy = trainer.evaluate()
        timeline.record(snap.step, snap.epoch, snap.params, accuracy=accuracy,
                        valid_loss=valid_loss, copy=False)
        self.valid_loss.append(snap.step, valid_loss)
        self.accuracy.append(snap.step, accuracy)

    @property
    def epoch(self) -> int:
        return self.trainer.epoch

    @property
    def step(self) -> int:
        return self.trainer.step

    def run(self, epochs: int):
        from biasviz.core.train_loop import EpochMetrics, StepMetrics

        for event in self.trainer.run(epochs):
            if isinstance(event, StepMetrics):
                snap = self.trainer.snapshot()
                self.timeline.record(event.step, event.epoch, snap.params, event.loss,
                                     copy=False)
                self.loss.append(event.step, event.loss)
            elif isinstance(event, EpochMetrics):
                self.timeline.mark_epoch_end(event.step, event.valid_accuracy,
                                             event.valid_loss)
                self.valid_loss.append(event.step, event.valid_loss)
                self.accuracy.append(event.step, event.valid_accuracy)
            yield event

    def curves(self):
        from biasviz.core.animation import Curves

        return Curves.build((self.loss.x, self.loss.y),
                            (self.valid_loss.x, self.valid_loss.y),
                            (self.accuracy.x, self.accuracy.y))


_RUN_OPTION_DEFAULTS = {"dataset": "sample", "task": "3,7"}  # the others default to None
_RUN_OPTIONS = ("dataset", "task", "model", "bias_mode", "hidden", "channels", "kernel",
                "init", "init_std", "optimizer", "loss", "epochs", "lr", "batch_size", "seed")


def _given_run_options(ns: argparse.Namespace) -> list[str]:
    """The run options (``_add_run_options``) set on the command line, as flags."""
    given = [name for name in _RUN_OPTIONS
             if getattr(ns, name, None) != _RUN_OPTION_DEFAULTS.get(name)]
    return ["--" + name.replace("_", "-") for name in given]


def cmd_animate(ns: argparse.Namespace) -> int:
    """Write a run as a GIF or MP4: a saved session's timeline, or a run trained here
    (``--train``) recording its timeline."""
    from pathlib import Path

    from biasviz.core.animation import AnimationOptions, find_ffmpeg, parse_size

    quiet = bool(ns.quiet)
    interactive = not quiet and _is_tty(sys.stderr)
    status = StatusLine(sys.stderr) if interactive else None

    # Everything that can be checked without data is checked first.
    if ns.source is not None and ns.train:
        raise UsageError("give either a session file or --train, not both")
    if ns.source is None and not ns.train:
        raise UsageError("nothing to animate: give a session (biasviz animate run.biasviz "
                         "--out run.gif) or add --train (with any 'biasviz train' options)")
    if ns.source is not None:
        extra = _given_run_options(ns) + (["--budget"] if ns.budget != 64.0 else [])
        if extra:
            raise UsageError(
                f"{', '.join(extra)}: for --train only; a session is animated as it was "
                "recorded (train it further with 'biasviz train' or in the app)"
            )
    out = Path(ns.out).expanduser()
    suffix = out.suffix.lower()
    if suffix not in (".gif", ".mp4"):
        raise UsageError(f"--out {ns.out}: write a .gif or an .mp4")
    if suffix == ".mp4" and find_ffmpeg() is None:
        raise UsageError(
            "writing MP4 needs ffmpeg: pip install imageio-ffmpeg (or install ffmpeg), "
            "or write a .gif"
        )
    if out.is_dir() or not out.parent.is_dir():
        from biasviz.core.errors import ParamFileError

        what = "it is a folder" if out.is_dir() else f"the folder {out.parent} does not exist"
        raise ParamFileError(f"--out {ns.out}: {what}")
    if not ns.budget > 0:
        raise UsageError(f"--budget {ns.budget:g}: give the memory in MB, more than 0")
    if ns.train:
        _check_dataset(ns.dataset)
    width, height = parse_size(ns.size)
    options = AnimationOptions(width=width, height=height, fps=ns.fps, frames=ns.frames,
                               first_step=ns.first_step, last_step=ns.last_step,
                               show=ns.show, spacing=ns.spacing)
    if ns.source is not None:
        animator = _session_animator(ns.source, options)
    else:
        animator = _trained_animator(ns, options, status, quiet)
        if isinstance(animator, int):  # interrupted: nothing was written
            return animator
    return _write_animation_file(ns.out, out, animator, status, quiet)


def _session_animator(path: str, options):
    """An Animator over a saved session's timeline, its curves from the session's
    history (every step's loss, every epoch's validation figures)."""
    from dataclasses import replace

    from biasviz.core.animation import Animator
    from biasviz.core.spec import MODEL_LABELS

    s = _load_session(path)
    options = replace(
        options,
        title=f"{MODEL_LABELS[s.spec.kind]} · {s.task_text} · {s.dataset_name}",
        class_names=s.task_names if s.task.is_binary else None,
    )
    return Animator(s.timeline, s.spec, options, _session_curves(s.history, s.timeline))


def _session_curves(history, timeline):
    """The animation's curves from a session's history (x in steps).  The history keeps
    the accuracy per epoch; its steps are the validation losses' (one of each per epoch,
    thinned alike); failing that, the timeline's epoch ends."""
    from biasviz.core.animation import Curves

    if len(history.loss) == 0:
        return Curves.from_timeline(timeline)
    if len(history.accuracy) == len(history.valid_loss):
        accuracy = (history.valid_loss.x, history.accuracy.y)
    else:
        fallback = Curves.from_timeline(timeline)
        accuracy = (fallback.accuracy_steps, fallback.accuracies)
    return Curves.build((history.loss.x, history.loss.y),
                        (history.valid_loss.x, history.valid_loss.y), accuracy)


def _trained_animator(ns: argparse.Namespace, options, status: StatusLine | None,
                      quiet: bool):
    """Train the run the options describe, recording its timeline; an Animator over it,
    or EXIT_INTERRUPTED when the run was stopped."""
    from biasviz.core.datasets import Task

    task = Task.parse(ns.task)
    spec = _build_spec(ns, task)
    if ns.loss is not None and not task.is_binary:
        raise UsageError("--loss is for two-class tasks; ten classes use cross-entropy")
    config = _build_config(ns)  # imports torch

    from biasviz.core.datasets import load_dataset, make_task_data

    download = _DownloadProgress(ns.dataset, status, quiet)
    try:
        dataset = load_dataset(ns.dataset, progress=download)
    finally:
        download.finish()
    data = make_task_data(dataset, task)

    from dataclasses import replace

    from biasviz.core.spec import MODEL_LABELS
    from biasviz.core.timeline import Timeline
    from biasviz.core.train_loop import make_trainer

    options = replace(
        options,
        title=f"{MODEL_LABELS[spec.kind]} · {data.describe()} · {dataset.name}",
        class_names=tuple(data.class_names) if task.is_binary else None,
    )
    trainer = make_trainer(spec, data, config)
    timeline = Timeline(budget_bytes=int(ns.budget * 2**20))
    recorder = _RecordingTrainer(trainer, timeline)
    if not quiet:
        _note(
            f"{dataset.name}: {data.describe()}; {spec.describe()}; {config.optimizer.value}, "
            f"lr {config.lr:g}, batch {int(config.batch_size)}, {int(config.epochs)} epoch{'' if int(config.epochs) == 1 else 's'}"
        )
    try:
        _accuracy, ended = _train_loop(recorder, int(config.epochs), status, quiet)
    except KeyboardInterrupt:
        if status is not None:
            status.clear()
        _note(f"interrupted at epoch {trainer.epoch + 1}, step {trainer.step}; nothing was "
              "written")
        return EXIT_INTERRUPTED
    if ended is not None and ended.reason.value == "diverged" and not quiet:
        # The animation of a diverging run is worth having: it shows what went wrong.
        _note(ended.message.rstrip(".") + "; animating the steps before it")

    from biasviz.core.animation import Animator

    return Animator(timeline, spec, options, recorder.curves())


def _write_animation_file(shown: str, out, animator, status: StatusLine | None,
                          quiet: bool) -> int:
    from biasviz.core.animation import write_animation

    wanted = animator.options.frames
    if len(animator) < wanted and not quiet:
        n = len(animator)
        _note(f"only {n} moment{'s' if n != 1 else ''} recorded in the range: writing {n} "
              f"frame{'s' if n != 1 else ''}")

    def progress(done: int, total: int) -> None:
        if status is not None:
            status.update(f"rendering {_bar(done / total)} frame {done}/{total}",
                          force=done == total)

    try:
        result = write_animation(out, animator, progress)
    finally:
        if status is not None:
            status.clear()
    if not quiet:
        print(f"wrote {printable(shown)}: {result.frames} frames, {result.size[0]}x"
              f"{result.size[1]}, {_file_size(result.bytes)}, steps {animator.steps[0]:,} to "
              f"{animator.steps[-1]:,}")
    return EXIT_OK


# -- sessions -----------------------------------------------------------------------------
class _Session:
    """A session file read for ``animate`` and ``info``: no dataset needed."""

    def __init__(self, path: str, meta: dict, arrays: dict) -> None:
        import math

        from biasviz.core.datasets import Task
        from biasviz.core.history import TrainingHistory
        from biasviz.core.spec import ModelSpec, TrainConfig, validate_params
        from biasviz.core.timeline import Timeline

        self.path, self.meta, self.arrays = path, meta, arrays
        self.spec = ModelSpec.from_dict(dict(meta["spec"]))
        self.task = Task.parse(str(meta["task"]))
        if self.spec.n_outputs != self.task.n_outputs:
            raise ValueError("its model does not fit its task")
        self.config = TrainConfig(**dict(meta["config"]))
        ref = meta.get("dataset")
        self.dataset_ref: dict = dict(ref) if isinstance(ref, dict) else {}
        self.dataset_key = str(self.dataset_ref.get("key", "sample"))
        self.dataset_name = str(self.dataset_ref.get("name") or self.dataset_key)
        names = _class_names_of(self.dataset_key)
        self.task_names = tuple(self.task.names(names))
        self.task_text = self.task.describe(names)
        self.params = {kind: validate_params(
            {k.split("/", 2)[2]: v for k, v in arrays.items()
             if k.startswith(f"params/{kind}/")}, self.spec)
            for kind in ("current", "trained", "initial")}
        position = dict(meta["position"])
        self.step, self.epoch = int(position["step"]), int(position["epoch"])
        self.threshold = float(meta.get("threshold", 0.0))
        self.history = TrainingHistory()
        self.history.restore(dict(meta["history"]),
                             {k[len("history/"):]: v for k, v in arrays.items()
                              if k.startswith("history/")})
        last = self.history.last_epoch  # restored as given: its figures are printed
        if last is not None and not (
                all(isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)
                    for v in (last.epoch, last.step, last.valid_accuracy))
                and 0 <= last.valid_accuracy <= 1):
            raise ValueError("its history's last epoch is damaged")
        self.timeline = Timeline.from_arrays(
            {k[len("timeline/"):]: v for k, v in arrays.items() if k.startswith("timeline/")},
            dict(meta["timeline"]),
        )
        first = self.timeline.first()
        if first is None:
            raise ValueError("its timeline is empty")
        validate_params(dict(first.params), self.spec)  # the moments fit the model
        view = meta.get("view")
        self.view: dict = dict(view) if isinstance(view, dict) else {}


def _class_names_of(key: str) -> tuple[str, ...]:
    """The class names of a dataset named by a session's reference (without loading it:
    the download kinds' names, digits otherwise)."""
    from biasviz.core.datasets import DIGIT_NAMES, FASHION_NAMES, KMNIST_NAMES

    return {"fashion-mnist": FASHION_NAMES, "kmnist": KMNIST_NAMES}.get(key, DIGIT_NAMES)


def _load_session(path: str) -> _Session:
    """Read and check a session file; ParamFileError naming the problem otherwise."""
    from biasviz.core.errors import BiasvizError, ParamFileError
    from biasviz.core.sessionfile import read_session

    meta, arrays = read_session(os.path.expanduser(path))  # names the file itself
    try:
        return _Session(path, meta, arrays)
    except (BiasvizError, KeyError, TypeError, ValueError, IndexError, AttributeError) as exc:
        what = f"{exc.args[0]!r} is missing" if isinstance(exc, KeyError) and exc.args else exc
        raise ParamFileError(f"cannot open session {os.path.basename(path)}: {what}") from None


# -- predict ------------------------------------------------------------------------------
def _class_names(mf: ModelFile) -> tuple[str, ...]:
    """Names in target order: for one output, index 0 is the class of a logit ≥ 0."""
    names = mf.metadata.get("class_names")
    wanted = 2 if mf.spec.n_outputs == 1 else 10
    if isinstance(names, list) and len(names) == wanted:
        return tuple(str(n) for n in names)
    task = mf.metadata.get("task")
    if wanted == 2 and isinstance(task, str):
        from biasviz.core.datasets import Task
        from biasviz.core.errors import ConfigError

        try:
            parsed = Task.parse(task)
        except ConfigError:
            parsed = None
        if parsed is not None and parsed.is_binary:
            return tuple(str(c) for c in parsed.classes)
    if wanted == 2:
        return ("first class", "second class")
    return tuple(str(d) for d in range(10))


def cmd_predict(ns: argparse.Namespace) -> int:
    import numpy as np

    from biasviz.core.decisions import sigmoid
    from biasviz.core.errors import ImageError
    from biasviz.core.paramfiles import import_params
    from biasviz.core.preprocess import preprocess_file
    from biasviz.core.spec import numpy_logits

    mf = import_params(ns.params, activation=ns.activation)
    pre = preprocess_file(ns.image)
    if pre.empty:
        raise ImageError(
            f"{ns.image}: no ink found (the picture is blank or has no contrast); "
            "draw a dark digit on light paper or a light one on black"
        )
    logits = np.asarray(numpy_logits(mf.params, mf.spec, pre.image.reshape(1, -1)),
                        dtype=np.float64)
    names = tuple(printable(n) for n in _class_names(mf))  # from the file: escaped
    if mf.spec.n_outputs == 1:
        z = float(logits.reshape(-1)[0])
        p_first = float(sigmoid(z))
        probs = np.array([p_first, 1.0 - p_first])
        shown_logits: list[float | None] = [z, None]
    else:
        z_all = logits.reshape(-1)
        e = np.exp(z_all - z_all.max())
        probs = e / e.sum()
        shown_logits = [float(v) for v in z_all]
    best = int(np.argmax(probs))
    width = max(len("class"), *(len(n) for n in names))
    print(f"prediction: {names[best]} (probability {probs[best]:.4f})")
    if pre.inverted:
        print("note: dark ink on a light background; the picture was inverted first")
    if mf.activation_assumed:
        print("note: the file does not record the hidden layer's activation; ReLU was "
              "assumed (--activation to say which)")
    print(f"{'class':<{width}}  probability      logit")
    for name, p, z in zip(names, probs, shown_logits, strict=True):
        logit = "" if z is None else f"{z:>10.4f}"
        print(f"{name:<{width}}  {p:>11.4f} {logit}".rstrip())
    if mf.spec.n_outputs == 1:
        print(
            f"logit: {shown_logits[0]:.4f} (σ(logit) = {p_first:.4f} is the probability of "
            f"{names[0]}; the neuron says {names[0]} when the logit is ≥ 0)"
        )
    return EXIT_OK


# -- info ---------------------------------------------------------------------------------
_META_LABELS = (
    ("dataset", "dataset"),
    ("dataset_key", "dataset key"),
    ("task", "task"),
    ("class_names", "class names"),
    ("epochs", "epochs"),
    ("step", "steps"),
    ("valid_accuracy", "validation accuracy"),
    ("lr", "learning rate"),
    ("optimizer", "optimizer"),
    ("batch_size", "batch size"),
    ("loss", "loss"),
    ("biasviz_version", "biasviz version"),
    ("created", "created"),
    ("format", "format"),
    ("format_version", "format version"),
)
_META_SKIP = {"model", "bias_mode", "spec"}


def _meta_value(key: str, value) -> str:
    if value is None:
        return "unknown"
    if key == "valid_accuracy" and isinstance(value, int | float):
        return f"{value:.4f}"
    if isinstance(value, list):
        return printable("; ".join(str(v) for v in value) if key == "notes"
                         else ", ".join(str(v) for v in value))
    if isinstance(value, dict):
        import json

        return printable(json.dumps(value, ensure_ascii=False))
    return printable(value)


def cmd_info(ns: argparse.Namespace) -> int:
    from biasviz.core.paramfiles import import_params

    if _is_session_path(ns.params):
        return _session_info(ns.params)
    mf = import_params(ns.params, activation=ns.activation)
    spec, meta = mf.spec, dict(mf.metadata or {})
    print(f"file: {printable(ns.params)}")
    print(f"model: {spec.describe()}")

    print("parameters:")
    name_width = max(len(n) for n in mf.params)
    for name, array in mf.params.items():
        shape = str(tuple(array.shape))
        print(f"  {name:<{name_width}}  {shape:<12} {array.dtype}")

    print("metadata:")
    label_width = max(len(label) for _, label in _META_LABELS)
    shown = set()
    for key, label in _META_LABELS:
        shown.add(key)
        if key in meta:
            print(f"  {label + ':':<{label_width + 1}} {_meta_value(key, meta[key])}")
    for key in sorted(k for k in meta if k not in shown and k not in _META_SKIP):
        label = printable(key) + ":"
        print(f"  {label:<{label_width + 1}} {_meta_value(key, meta[key])}")

    _print_counts(spec)
    return EXIT_OK


def _print_counts(spec) -> None:
    counts = spec.layer_counts()
    rows = [(c.layer, c.weights, c.biases, c.total) for c in counts]
    rows.append(("total", sum(r[1] for r in rows), sum(r[2] for r in rows),
                 sum(r[3] for r in rows)))
    lw = max(len("layer"), *(len(r[0]) for r in rows))
    print("parameter counts:")
    print(f"  {'layer':<{lw}}  {'weights':>9}  {'biases':>7}  {'total':>9}")
    for layer, w, b, t in rows:
        print(f"  {layer:<{lw}}  {w:>9,}  {b:>7,}  {t:>9,}")


def _was_installed_copy(key: str, name: str, source: object) -> bool:
    """The session's dataset was read from an installed copy (its name says so), not
    downloaded: ``info`` said "the fashion-mnist download" beside "(installed copy in …)"."""
    from biasviz.core.datasets import _KINDS, installed_name

    return key in _KINDS and bool(source) and name == installed_name(_KINDS[key].name,
                                                                     str(source))


def _session_info(path: str) -> int:
    """``biasviz info run.biasviz``: what the session holds.  Everything read from the
    file goes through :func:`printable`."""
    import numpy as np

    s = _load_session(path)
    meta, config, history, timeline = s.meta, s.config, s.history, s.timeline
    rows: list[tuple[str, str]] = []
    ref = s.dataset_ref
    if s.dataset_key == "sample":
        where = "bundled with biasviz"
    elif s.dataset_key == "folder":
        where = f"the folder {ref.get('source', '?')}"
    elif _was_installed_copy(s.dataset_key, s.dataset_name, ref.get("source")):
        where = "a copy a system package installed, not a download"
    else:
        where = f"the {s.dataset_key} download"
    rows.append(("dataset", f"{s.dataset_name}, {where}"))
    rows.append(("task", s.task_text))
    rows.append(("model", s.spec.describe() + f", {s.spec.init.value} init, seed "
                 f"{s.spec.seed}"))
    loss = "cross-entropy" if not s.task.is_binary else f"{config.loss.value} loss"
    rows.append(("training", f"{config.optimizer.value}, lr {config.lr:g}, batch "
                 f"{int(config.batch_size)}, {loss}, {int(config.epochs)} epoch{'' if int(config.epochs) == 1 else 's'} per run, "
                 f"batch-order seed {config.seed}"))
    rows.append(("trained", f"{s.step:,} steps, {s.epoch:,} epochs"))
    last = history.last_epoch
    if last is not None:
        rows.append(("last accuracy", f"{float(last.valid_accuracy):.4f} (validation, "
                     f"after epoch {int(last.epoch):,}, step {int(last.step):,})"))
    else:
        rows.append(("last accuracy", "none yet (no epoch finished)"))
    edited = [name for name, a in s.params["current"].items()
              if not np.array_equal(a, s.params["trained"][name])]
    if edited:
        rows.append(("edited", ", ".join(edited) + " changed by hand after training"))
    if s.threshold != 0.0:
        rows.append(("threshold", f"{s.threshold:g}"))
    steps = timeline.moments()
    ends = sum(1 for m in timeline.all() if m.epoch_end)
    kept = ("every step" if timeline.threshold == 0 else
            f"every {2 ** timeline.threshold:,}th step, epoch ends and the latest steps")
    rows.append(("timeline", f"{len(steps):,} moments, steps {steps[0]:,} to {steps[-1]:,} "
                 f"({kept}; {ends:,} epoch ends)"))
    rows.append(("timeline memory", f"{timeline.nbytes / 2**20:.1f} MiB of its "
                 f"{timeline.budget_bytes / 2**20:.0f} MiB budget"))
    rows.append(("curves", f"{history.loss.total:,} step losses, "
                 f"{history.accuracy.total:,} epoch accuracies"))
    if s.view:
        rows.append(("view", ", ".join(f"{k} {v}" for k, v in sorted(s.view.items())
                                       if v is not None) or "default"))
    rows.append(("format", f"biasviz session, version {meta.get('version')}"))

    print(f"file: {printable(path)}")
    print("session:")
    width = max(len(label) for label, _ in rows) + 1
    for label, value in rows:
        print(f"  {label + ':':<{width}} {printable(value)}")
    print("parameters (current; also the trained and the initial ones):")
    name_width = max(len(n) for n in s.params["current"])
    for name, array in s.params["current"].items():
        print(f"  {name:<{name_width}}  {str(tuple(array.shape)):<12} {array.dtype}")
    _print_counts(s.spec)
    return EXIT_OK


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
