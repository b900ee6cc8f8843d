"""``nn.tune``: hyperparameter search on Optuna, from one laptop to many machines.

    >>> import nn
    >>> X, y = nn.data.moons(200, noise=0.2, seed=0)
    >>> result = nn.tune(X, y, {"lr": nn.space.loguniform(1e-3, 0.3), "hidden": [[8], [16, 16]]},
    ...                  trials=20, epochs=60, seed=0)
    >>> result.best_params, result.best_value

Optuna does the searching (its GridSampler, RandomSampler, TPESampler and
MedianPruner) and keeps the study in a storage; this module turns a space of
MLP and fit arguments into Optuna trials, trains one MLP per trial with
``nn.fit`` and reports. ``strategy`` is "grid", "random" or "bayes" (Optuna's
TPE: its first 10 trials are random, then each trial is drawn where the
better trials so far cluster).

Decisions where the spec is silent, documented here and in the README:

* The task follows the target as in ``chainrule train``: a fixed ``loss``
  decides it; else a target of at most 10 distinct integers (or any
  non-numeric labels) is a classification (labels mapped to 0..k-1 in sorted
  order, kept in ``result.classes``): two classes get one output and
  bce_with_logits, more one output per class and cross_entropy; anything
  else is a regression with mse.
* The validation rows (``validation`` a fraction, or ``(X_val, y_val)``) are
  held out once per study, so every trial is measured on the same rows. A
  trial's value is its validation loss after the last epoch (after the best
  epoch with ``early_stopping``), without the l1/l2 penalties, so penalties
  compete fairly.
* Unset arguments take ``nn._recipe.DEFAULTS``: hidden [16, 16], relu,
  uniform init, no dropout, Adam at fit's default rate, full batch, 100
  epochs. "momentum" as an optimizer is SGD with momentum 0.9 (``momentum``
  overrides it); the ``momentum`` parameter only moves SGD.
* Seeds: a study has one seed (``seed``, or a random one recorded at
  creation); trial k trains with the seed derived from (study seed, k), for
  the weights, the shuffling and dropout, and Optuna's sampler is seeded per
  trial the same way. So every trial is reproducible from its record
  (``result.train(k)``), and machines sharing a study never draw the same
  random points.
* A study stores its set-up (space, strategy, fixed arguments, a hash of the
  data, the split): resuming or joining it with other settings is a
  ValueError naming the difference, since the trials would not compare.
* Pruning (``prune=True``) is Optuna's MedianPruner on the per-epoch
  validation loss: after 5 finished trials, a trial whose loss at an epoch
  (from the 5th on) is worse than the median of the earlier trials' at the
  same epoch stops there. A pruned trial's value is its loss when stopped.
* A trial that diverges (fit raises FloatingPointError, or any
  ArithmeticError), whose batch norm meets a batch of one row, or that
  ``engine="tape"`` cannot train (batch norm), is recorded "failed" with the
  reason; the search goes on.
  Ctrl-C marks the running trial "failed" (reason "interrupted"), stops, and
  returns the finished trials.
* The grid takes trial k to grid point k (Optuna's GridSampler numbers its
  points by trial number), so over any number of workers and machines each
  point is run once; ``trials`` caps how many this call runs and a finished
  grid runs nothing more. A trial started in a race for the grid's last point
  is recorded "failed" without training ("the grid was already complete").
* ``workers=N`` starts N processes (``spawn``: a script calling tune with
  workers needs the usual ``if __name__ == "__main__":`` guard); with no
  storage they share a temporary journal file, copied into memory at the end.
* ``result.trials`` lists every trial of the study (a resumed study shows the
  earlier calls' trials too); "running" and "waiting" states appear only for
  trials that other processes are still working on.
"""

from __future__ import annotations

import csv
import hashlib
import html
import json
import math
import numbers
import os
import pickle
import queue as queues
import re
import secrets
import signal
import socket
import tempfile
import time
import traceback
import warnings
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cache, partial
from pathlib import Path

import numpy as np

from . import _recipe as recipe
from . import space as S
from ._checks import positive_int
from .data import train_test_split
from .losses import LOSSES
from .module import ACTIVATIONS
from .norm import BatchTooSmallError
from .tape_engine import EngineError, check_engine
from .train import _CLASSIFICATION, _progress_bar

STRATEGIES = ("grid", "random", "bayes")
# Arguments that may be fixed but not searched (the loss decides what the value means).
FIXED_ONLY = ("loss", "output_activation", "early_stopping")
DEFAULT_STUDY = "chainrule"
MAX_CLASSES = 10
MAX_GRID = 100_000
PRUNE_AFTER_TRIALS = 5
PRUNE_AFTER_EPOCHS = 5
SETUP = "chainrule.setup"  # the study's user attribute holding its set-up


class StorageError(RuntimeError):
    """The study's storage cannot be opened or reached (the message names it, password hidden)."""


@dataclass
class Trial:
    """One trial of a search: what it tried, how it ended and how to run it again."""

    number: int
    params: dict
    value: float | None  # validation loss (when pruned: at the epoch it stopped)
    state: str  # "complete", "pruned", "failed" (or "running"/"waiting" elsewhere)
    seconds: float | None
    seed: int | None = None
    epochs: int | None = None  # epochs trained
    metric: float | None = None  # validation accuracy or R² at the end
    reason: str | None = None  # why it was pruned or failed
    worker: str | None = None  # "host:process id" that ran it
    curve: list = field(default_factory=list, repr=False)  # validation loss per epoch


# -- the problem every trial trains on -------------------------------------------------------


@dataclass
class _Problem:
    """What a trial needs, picklable for worker processes."""

    X_train: np.ndarray
    y_train: np.ndarray
    X_val: np.ndarray
    y_val: np.ndarray
    loss: object
    outputs: int
    fixed: dict
    dims: dict
    strategy: str
    grid_size: int  # 0 unless strategy == "grid"
    prune: bool
    seed: int  # the study's seed
    engine: str = "auto"  # what trains each trial (fit's engine); not part of the study


def _task(y, loss):
    """(loss, number of outputs, targets, classes or None) for the target ``y``."""
    y = np.asarray(y)
    if y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
    if np.issubdtype(y.dtype, np.number) and not np.all(np.isfinite(y)):
        raise ValueError("y holds nan or inf values")
    if loss is None:
        numeric = np.issubdtype(y.dtype, np.number) or y.dtype == bool
        labels = np.unique(y) if y.ndim == 1 else None
        classify = labels is not None and (
            not numeric or (len(labels) <= MAX_CLASSES and np.all(labels == np.round(labels)))
        )
        loss = ("bce_with_logits" if len(labels) == 2 else "cross_entropy") if classify else "mse"
        if classify and len(labels) < 2:
            raise ValueError(f"y has a single class ({labels[0]!r}): a classifier needs two")
    if isinstance(loss, str) and loss in _CLASSIFICATION:
        if y.ndim != 1:
            raise ValueError(f"loss {loss!r} needs one class label per row, got y of shape "
                             f"{y.shape}")
        classes, targets = np.unique(y, return_inverse=True)
        if loss != "cross_entropy" and len(classes) > 2:
            raise ValueError(f"loss {loss!r} handles two classes but y has {len(classes)}: "
                             "use loss='cross_entropy'")
        return loss, len(classes) if loss == "cross_entropy" else 1, targets, classes
    if not np.issubdtype(y.dtype, np.number):
        raise ValueError(f"loss {loss!r} needs numeric targets, got {y.dtype} labels")
    return loss, 1 if y.ndim == 1 else y.shape[1], y.astype(float), None


def _check_fixed(fixed: dict) -> dict:
    for name, value in fixed.items():
        if name not in S.NAMES and name not in FIXED_ONLY:
            raise ValueError(f"unknown argument {name}={value!r}: tune takes the space's "
                             f"names ({', '.join(S.NAMES)}) and {', '.join(FIXED_ONLY)}")
        if name in S.NAMES:
            S.check_value(name, value)
    loss = fixed.get("loss")
    if loss is not None and not callable(loss) and loss not in LOSSES:
        raise ValueError(f"unknown loss {loss!r}: expected one of {', '.join(LOSSES)} or a "
                         "callable")
    if fixed.get("output_activation") not in (None, *ACTIVATIONS):
        raise ValueError(f"output_activation={fixed['output_activation']!r}: expected one of "
                         f"{', '.join(ACTIVATIONS)} or None")
    early = fixed.get("early_stopping")
    if early is not None:
        positive_int(early, "early_stopping")
    return fixed


def _trial_seed(study_seed: int, number: int, stream: int = 0) -> int:
    """A 32-bit seed for trial ``number`` of a study (stream 1 seeds the sampler)."""
    return int(np.random.SeedSequence([study_seed, number, stream]).generate_state(1)[0])


def _train(problem: _Problem, params: dict, seed: int, callbacks=(), snapshots=False):
    """(model, history): the trial's MLP trained on the study's rows with its seed."""
    return recipe.train(problem.X_train, problem.y_train, {**problem.fixed, **params},
                        problem.loss, problem.outputs, seed,
                        validation=(problem.X_val, problem.y_val), callbacks=callbacks,
                        snapshots=snapshots, engine=problem.engine)


# -- one trial -------------------------------------------------------------------------------


class _TrialFailed(Exception):
    """The trial could not finish (its reason is in the trial's user attribute "reason")."""


def _objective(problem: _Problem, interrupts: _Interrupts, trial) -> float:
    import optuna

    if problem.grid_size and trial.number >= problem.grid_size:
        trial.set_user_attr("reason", "the grid was already complete (another worker started "
                                      "its last point at the same time)")
        raise _TrialFailed("grid complete")
    params = {name: dim.suggest(trial, name) for name, dim in problem.dims.items()}
    seed = _trial_seed(problem.seed, trial.number)
    trial.set_user_attr("seed", seed)
    trial.set_user_attr("worker", f"{socket.gethostname()}:{os.getpid()}")
    pruned_at = []

    def report(epoch, history):
        trial.report(history.val_loss[-1], epoch)
        if problem.prune and trial.should_prune():
            pruned_at.append(epoch)
            return True
        return False

    try:
        with interrupts.training():
            _, history = _train(problem, S.readable(params), seed, callbacks=(report,))
    except KeyboardInterrupt:  # Ctrl-C before fit had started
        trial.set_user_attr("reason", "interrupted (Ctrl-C)")
        raise
    except (ArithmeticError, BatchTooSmallError, EngineError) as error:
        # Diverged (FloatingPointError names epoch, step and lr), batch norm met a batch of
        # one row (a searched batch_size can leave one), or engine="tape" met a model the
        # tape cannot run (a searched norm="batch"): this trial fails, others go on.
        trial.set_user_attr("reason", f"{type(error).__name__}: {error}")
        raise _TrialFailed(str(error)) from None
    if history.interrupted:  # Optuna marks the trial failed and passes this on
        trial.set_user_attr("reason", "interrupted (Ctrl-C)")
        raise KeyboardInterrupt
    trial.set_user_attr("epochs", history.epochs)
    if history.val_metric:
        best = history.best_epoch or history.epochs
        trial.set_user_attr("metric", float(history.val_metric[best - 1]))
    if pruned_at:
        trial.set_user_attr("reason", f"pruned at epoch {pruned_at[0]}: its validation loss "
                                      "was worse than the median of earlier trials there")
        raise optuna.TrialPruned(f"epoch {pruned_at[0]}")
    return recipe.final_value(history)


class _Interrupts:
    """Ctrl-C while a trial trains stops it at once (fit returns what it has, and the trial
    is recorded failed, "interrupted"). Anywhere else, Optuna may be writing a trial to the
    storage: there the interrupt is only noted, and the search stops at the next trial, so
    no trial is left "running" in a shared study. Used as a context manager, which puts
    this handler in place of SIGINT's and restores the previous one after."""

    def __init__(self):
        self.requested = False
        self._training = False
        self._previous = None

    def __enter__(self):
        try:
            self._previous = signal.signal(signal.SIGINT, self._handle)
        except ValueError:  # not the main thread: signals are not ours to handle
            self._previous = None
        return self

    def __exit__(self, *exc):
        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous)

    def _handle(self, signum, frame):
        self.requested = True
        if self._training:
            raise KeyboardInterrupt

    @contextmanager
    def training(self):
        """The section where Ctrl-C interrupts at once (a trial's fit)."""
        if self.requested:
            raise KeyboardInterrupt
        self._training = True
        try:
            yield
        finally:
            self._training = False


def _run_trials(study, problem: _Problem, claim, on_trial, interrupts: _Interrupts) -> None:
    """Runs trials while ``claim()`` grants one (and the grid has points left);
    KeyboardInterrupt once Ctrl-C was pressed."""
    objective = partial(_objective, problem, interrupts)
    callbacks = [lambda study, frozen: on_trial(frozen)]
    while not interrupts.requested and claim():
        if problem.grid_size and len(study.get_trials(deepcopy=False)) >= problem.grid_size:
            break
        study.optimize(objective, n_trials=1, catch=(_TrialFailed,), callbacks=callbacks)
    if interrupts.requested:
        raise KeyboardInterrupt


# -- Optuna: samplers, storages, studies --------------------------------------------------------


def _optuna():
    try:
        with warnings.catch_warnings():
            # Optuna imports tqdm.auto, which warns in a Jupyter kernel without ipywidgets.
            warnings.filterwarnings("ignore", message="IProgress not found")
            import optuna
    except ImportError:
        raise ImportError(
            "nn.tune needs Optuna: pip install optuna (make demo installs it)"
        ) from None
    return optuna


@cache
def _per_trial_sampler_class():
    from optuna.samplers import BaseSampler

    class PerTrialSeeds(BaseSampler):
        """Optuna's sampler made fresh for each trial, seeded by (study seed, trial number).

        One seeded sampler per process would make two machines with the same seed
        draw the same points; seeding by the trial's number (unique in the study)
        keeps every trial reproducible and every machine's draws different.
        """

        def __init__(self, make, seed: int):
            self._make, self._seed, self._samplers = make, seed, {}

        def _for(self, trial):
            if trial.number not in self._samplers:
                self._samplers[trial.number] = self._make(_trial_seed(self._seed, trial.number, 1))
            return self._samplers[trial.number]

        def infer_relative_search_space(self, study, trial):
            return self._for(trial).infer_relative_search_space(study, trial)

        def sample_relative(self, study, trial, search_space):
            return self._for(trial).sample_relative(study, trial, search_space)

        def sample_independent(self, study, trial, param_name, param_distribution):
            return self._for(trial).sample_independent(study, trial, param_name,
                                                       param_distribution)

        def before_trial(self, study, trial):
            self._for(trial).before_trial(study, trial)

        def after_trial(self, study, trial, state, values):
            sampler = self._for(trial)
            del self._samplers[trial.number]  # a trial is told once
            sampler.after_trial(study, trial, state, values)

        def reseed_rng(self):
            pass  # seeds come from trial numbers

    return PerTrialSeeds


def _sampler(optuna, problem: _Problem):
    if problem.strategy == "grid":
        # The same shuffle in every process, so trial k means the same grid point everywhere.
        grid = {name: dim.grid(name) for name, dim in problem.dims.items()}
        return optuna.samplers.GridSampler(grid, seed=problem.seed)
    make = (optuna.samplers.RandomSampler if problem.strategy == "random"
            else optuna.samplers.TPESampler)
    return _per_trial_sampler_class()(lambda seed: make(seed=seed), problem.seed)


def _pruner(optuna, prune: bool):
    if not prune:
        return optuna.pruners.NopPruner()
    return optuna.pruners.MedianPruner(n_startup_trials=PRUNE_AFTER_TRIALS,
                                       n_warmup_steps=PRUNE_AFTER_EPOCHS)


def safe_url(url: str) -> str:
    """``url`` with its password (``//user:password@``) replaced by ``***``."""
    return re.sub(r"(//[^/:@]*:)[^@/]*@", r"\1***@", str(url))


def _storage(optuna, storage):
    """The Optuna storage for ``storage`` (None: in memory; a URL; a path ending .journal)."""
    if storage is None:
        return optuna.storages.InMemoryStorage()
    if isinstance(storage, optuna.storages.BaseStorage):
        return storage
    if not isinstance(storage, (str, os.PathLike)):
        raise TypeError(f"storage must be a URL or a path, got {type(storage).__name__}")
    text = os.fspath(storage)
    if text.endswith(".journal"):
        folder = Path(text).resolve().parent
        if not folder.is_dir():
            raise StorageError(f"cannot open the journal {text}: the folder {folder} does not "
                               "exist")
        from optuna.storages.journal import JournalFileBackend

        return optuna.storages.JournalStorage(JournalFileBackend(text))
    if "://" not in text:
        raise ValueError(f"storage must be an SQLAlchemy URL such as sqlite:///tune.db or "
                         f"postgresql://user@host/db, or a file path ending in .journal; got "
                         f"{safe_url(text)!r}")
    engine = {"connect_args": {"connect_timeout": 10}} if text.startswith("postgresql") else {}
    try:
        return _rdb_storage(optuna, text, engine)
    except ImportError as error:
        raise ImportError(f"the storage {safe_url(text)} needs a database driver that is not "
                          f"installed ({error}); for PostgreSQL: pip install 'psycopg[binary]'"
                          ) from None
    except Exception as error:  # SQLAlchemy's errors: unreachable server, bad URL, no such file
        reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        password = re.search(r"//[^/:@]*:([^@/]*)@", text)
        if password and password.group(1):
            reason = reason.replace(password.group(1), "***")
        raise StorageError(f"cannot open the study storage {safe_url(text)}: {reason}") from None


def _rdb_storage(optuna, url: str, engine: dict, attempts: int = 5):
    """Optuna's RDBStorage for ``url``. Two processes meeting a new database at once both
    create Optuna's tables, and one fails on the other's; it tries again and finds them."""
    from sqlalchemy.exc import IntegrityError, ProgrammingError

    for attempt in range(attempts):
        try:
            return optuna.storages.RDBStorage(url, engine_kwargs=engine)
        except (IntegrityError, ProgrammingError):
            if attempt == attempts - 1:
                raise
            time.sleep(0.2 * (attempt + 1) + secrets.randbelow(100) / 1000)


def _setup(problem: _Problem, data_hash: str, validation) -> dict:
    """What a study's trials depend on (stored with the study; compared when resuming)."""
    return {
        "space": {name: dim.describe() for name, dim in problem.dims.items()},
        "strategy": problem.strategy,
        "fixed": {name: _describe(value) for name, value in sorted(problem.fixed.items())},
        "loss": _describe(problem.loss),
        "data": data_hash,
        "validation": validation,
        "seed": problem.seed,
    }


def _describe(value):
    if callable(value):
        return f"<function {getattr(value, '__qualname__', repr(value))}>"
    return S._plain(value) if not isinstance(value, dict) else value


def _open_study(optuna, storage, name: str, setup: dict, seed_given: bool, where: str):
    """(study, its stored set-up): the study created with ``setup``, or loaded and checked."""
    try:
        study = optuna.create_study(study_name=name, storage=storage, direction="minimize")
        study.set_user_attr(SETUP, setup)
        return study, setup
    except optuna.exceptions.DuplicatedStudyError:
        study = optuna.load_study(study_name=name, storage=storage)
    stored = study.user_attrs.get(SETUP)
    for _ in range(50):  # another process may have just created it and not yet written this
        if stored is not None or study.get_trials(deepcopy=False):
            break
        time.sleep(0.1)
        stored = optuna.load_study(study_name=name, storage=storage).user_attrs.get(SETUP)
    if stored is None:
        raise ValueError(f"study {name!r} in {where} was not made by nn.tune: give another "
                         "study name")
    for key, value in setup.items():
        if key == "seed" and not seed_given:
            continue
        if json.dumps(stored.get(key), sort_keys=True) != json.dumps(value, sort_keys=True):
            raise ValueError(
                f"study {name!r} in {where} was made with {key} {stored.get(key)!r}, but this "
                f"call has {value!r}; its trials would not compare. Use the same settings or "
                "another study name"
            )
    return study, stored


# -- tune ---------------------------------------------------------------------------------------


def tune(X, y, space, *, strategy="bayes", trials=20, validation=0.2, storage=None, study=None,
         workers=1, prune=True, seed=None, progress=True, engine="auto", **fixed) -> TuneResult:
    """Searches ``space`` for the MLP with the lowest validation loss on (X, y); a TuneResult.

    space: {name: nn.space.choice/uniform/loguniform/integer or a list} over
    ``nn.space.NAMES``; ``fixed``: arguments that do not vary (the same names,
    and loss, output_activation, early_stopping). strategy: "grid", "random"
    or "bayes" (TPE). trials: how many this call runs, over all its workers.
    storage: None (in memory), an SQLAlchemy URL or a path ending in .journal;
    study: its name (default "chainrule"). workers: local processes. engine:
    what trains each trial, as fit's ``engine`` ("auto", "tape" or "scalar"); it
    changes the speed, not the results, so a study may be resumed with another.
    """
    optuna = _optuna()
    trials = positive_int(trials, "trials")
    workers = positive_int(workers, "workers")
    if seed is not None and (not isinstance(seed, numbers.Integral) or isinstance(seed, bool)):
        raise TypeError(f"seed must be an int or None, got {seed!r}")
    # Everything is checked before a storage is touched, so a mistake leaves no study behind.
    problem, X, targets, classes = _problem(X, y, space, strategy, fixed, prune, seed)
    check_engine(engine)
    problem.engine = engine
    held_out = _describe_validation(validation)
    _split(problem, X, targets, validation, classes)
    if workers > 1:
        _check_picklable(problem)
    name = DEFAULT_STUDY if study is None else str(study)
    setup = _setup(problem, _hash(X, targets), held_out)
    with _storage_for(optuna, storage, workers) as (backend, where, address), _quiet(optuna):
        opened, stored = _open_study(optuna, backend, name, setup, seed is not None, where)
        if stored["seed"] != problem.seed:  # a resumed study keeps its seed, and so its rows
            problem.seed = stored["seed"]
            _split(problem, X, targets, validation, classes)
        opened.sampler = _sampler(optuna, problem)
        opened.pruner = _pruner(optuna, problem.prune)
        budget = trials
        if problem.grid_size:
            left = problem.grid_size - len(opened.get_trials(deepcopy=False))
            budget = min(trials, max(0, left))
        interrupted = _search(optuna, opened, problem, budget, workers, address, name, progress)
        if storage is None and workers > 1:  # keep the trials once the temporary journal goes
            memory = optuna.storages.InMemoryStorage()
            optuna.copy_study(from_study_name=name, from_storage=backend, to_storage=memory)
            opened = optuna.load_study(study_name=name, storage=memory)
        return TuneResult(opened, problem, classes, interrupted)


def _problem(X, y, space, strategy, fixed, prune, seed):
    """(problem, X, targets, classes): the search's checked settings and data (no rows split)."""
    if strategy not in STRATEGIES:
        raise ValueError(f"unknown strategy {strategy!r}: expected one of {', '.join(STRATEGIES)}")
    dims = S.parse(space)
    fixed = _check_fixed(dict(fixed))
    both = sorted(set(dims) & set(fixed))
    if both:
        raise ValueError(f"{', '.join(both)} is both in the space and fixed: give it once")
    grid_size = 0
    if strategy == "grid":
        grid_size = math.prod(len(dim.grid(name)) for name, dim in dims.items())
        if grid_size > MAX_GRID:
            raise ValueError(f"the grid has {grid_size:,} points, more than {MAX_GRID:,}: "
                             "use fewer values, or strategy='random' or 'bayes'")
    X = np.asarray(X, dtype=float)
    if X.ndim == 1:
        X = X.reshape(-1, 1)
    if X.ndim != 2 or len(X) != len(y) or len(X) < 2:
        raise ValueError(f"X must have shape (rows, features) with one row per target (at "
                         f"least 2), got X {X.shape} and {len(y)} targets")
    if not np.all(np.isfinite(X)):
        raise ValueError("X holds nan or inf values")
    loss, outputs, targets, classes = _task(y, fixed.pop("loss", None))
    study_seed = secrets.randbits(32) if seed is None else int(seed)
    problem = _Problem(None, None, None, None, loss, outputs, fixed, dims, strategy, grid_size,
                       bool(prune), study_seed)
    return problem, X, targets, classes


@contextmanager
def _storage_for(optuna, storage, workers: int):
    """(Optuna storage, its name for messages, its address for worker processes).

    With workers and no storage, the workers share a temporary journal file,
    removed on the way out.
    """
    temporary = None
    if storage is None and workers > 1:
        temporary = tempfile.TemporaryDirectory(prefix="chainrule-tune-")
        address = os.path.join(temporary.name, "study.journal")
    elif workers > 1 and not isinstance(storage, (str, os.PathLike)):
        raise TypeError("workers > 1 need the storage as a URL or a journal path, which each "
                        "worker process opens for itself")
    else:
        address = storage
    if storage is None:
        where = "memory"
    elif isinstance(storage, (str, os.PathLike)):
        where = safe_url(os.fspath(storage))
    else:
        where = type(storage).__name__
    try:
        yield _storage(optuna, address), where, address
    finally:
        if temporary is not None:
            temporary.cleanup()


def _describe_validation(validation):
    if isinstance(validation, numbers.Real) and not isinstance(validation, bool):
        if not 0.0 < validation < 1.0:
            raise ValueError(f"validation must be a fraction in (0, 1) or (X_val, y_val), got "
                             f"{validation!r}")
        return float(validation)
    try:
        X_val, y_val = validation
    except (TypeError, ValueError):
        raise TypeError("validation must be a fraction such as 0.2 or (X_val, y_val)") from None
    return _hash(np.asarray(X_val, dtype=float), np.asarray(y_val))


def _split(problem: _Problem, X, targets, validation, classes) -> None:
    """Holds out the validation rows once for the study (seeded by the study's seed)."""
    if isinstance(validation, numbers.Real):
        X_train, X_val, y_train, y_val = train_test_split(X, targets, test_size=validation,
                                                          seed=problem.seed)
        if len(X_train) == 0 or len(X_val) == 0:
            raise ValueError(f"validation={validation} of {len(X)} rows leaves no rows to train "
                             "on or none to validate on")
    else:
        X_val, y_val = validation
        X_val, y_val = np.asarray(X_val, dtype=float), np.asarray(y_val)
        if X_val.ndim == 1:
            X_val = X_val.reshape(-1, 1)
        if X_val.ndim != 2 or not np.all(np.isfinite(X_val)):
            raise ValueError(f"X_val must be finite rows of {X.shape[1]} features, got shape "
                             f"{X_val.shape}")
        if classes is None:
            y_val = y_val.astype(float)
        else:
            unknown = sorted(set(y_val.tolist()) - set(classes.tolist()), key=str)
            if unknown:
                raise ValueError(f"y_val has labels that y lacks: {unknown[:5]}")
            y_val = np.searchsorted(classes, y_val)
        X_train, y_train = X, targets
        if X_val.shape[1] != X.shape[1] or len(X_val) != len(y_val) or len(X_val) == 0:
            raise ValueError(f"validation (X_val, y_val) must have rows of {X.shape[1]} "
                             f"features, one target each; got {X_val.shape} and {len(y_val)}")
    problem.X_train, problem.X_val = X_train, X_val
    problem.y_train, problem.y_val = y_train, y_val


def _hash(X, y) -> str:
    digest = hashlib.sha256(np.ascontiguousarray(X, dtype=float).tobytes())
    digest.update(json.dumps(np.asarray(y).tolist()).encode())
    return digest.hexdigest()[:16]


def _check_picklable(problem: _Problem) -> None:
    try:
        pickle.dumps(problem)
    except Exception as error:
        raise TypeError(
            f"with workers > 1 every fixed argument goes to another process and must be "
            f"picklable, which this one is not ({error}): define a custom loss with def at "
            "module level, or use workers=1"
        ) from None


class _quiet:
    """Optuna's per-trial log lines off while we search (we report trials ourselves)."""

    def __init__(self, optuna):
        self.logging = optuna.logging

    def __enter__(self):
        self.level = self.logging.get_verbosity()
        self.logging.set_verbosity(self.logging.ERROR)

    def __exit__(self, *exc):
        self.logging.set_verbosity(self.level)


def _search(optuna, study, problem, budget, workers, storage, name, progress) -> bool:
    """Runs ``budget`` trials in this process or in ``workers`` processes; True if interrupted."""
    bar = _progress_bar(budget, progress and budget > 0, desc="tune", unit="trial")
    best = [math.inf]

    def on_trial(number, state, value):
        if bar is None:
            return
        if state == "complete" and value is not None and value < best[0]:
            best[0] = value
        bar.set_postfix({"best": f"{best[0]:.4g}"} if math.isfinite(best[0]) else {},
                        refresh=False)
        bar.update(1)

    try:
        with _quiet(optuna), _Interrupts() as interrupts:
            if workers == 1:
                left = [budget]

                def claim():
                    left[0] -= 1
                    return left[0] >= 0

                _run_trials(study, problem, claim, lambda frozen: on_trial(*_summary(frozen)),
                            interrupts)
            else:
                _run_workers(problem, budget, workers, storage, name, on_trial, interrupts)
        return False
    except KeyboardInterrupt:
        return True
    finally:
        if bar is not None:
            bar.close()


def _state(frozen) -> str:
    """complete, pruned, failed (Optuna's FAIL), running or waiting."""
    return _STATES.get(frozen.state.name, frozen.state.name.lower())


_STATES = {"COMPLETE": "complete", "PRUNED": "pruned", "FAIL": "failed"}


def _summary(frozen) -> tuple:
    return frozen.number, _state(frozen), frozen.value


# -- worker processes -------------------------------------------------------------------------


def _run_workers(problem, budget, workers, storage, name, on_trial, interrupts) -> None:
    """Runs the trials in ``workers`` spawned processes sharing the budget; this process
    shows their progress. KeyboardInterrupt once Ctrl-C was pressed and they stopped."""
    import multiprocessing

    context = multiprocessing.get_context("spawn")  # fork would share the parent's connections
    left = context.Value("i", budget)
    messages = context.Queue()
    processes = [context.Process(target=_worker, name=f"chainrule-tune-{i}",
                                 args=(os.fspath(storage), name, problem, left, messages, i))
                 for i in range(workers)]
    for process in processes:
        process.start()
    errors, finished = [], set()
    try:
        while len(finished) < workers:
            if interrupts.requested:
                _stop(processes)
                raise KeyboardInterrupt
            try:
                kind, index, *rest = messages.get(timeout=0.2)
            except queues.Empty:
                for i, process in enumerate(processes):
                    if not process.is_alive() and i not in finished:
                        finished.add(i)  # died without a word (killed)
                        if process.exitcode:
                            errors.append(f"worker {i} stopped with exit code {process.exitcode}")
                continue
            if kind == "trial":
                on_trial(*rest)
            elif kind == "error":
                errors.append(rest[0])
            elif kind == "done":
                finished.add(index)
    finally:
        for process in processes:
            process.join(timeout=60)
            if process.is_alive():
                process.terminate()
                process.join()
    if errors:
        raise RuntimeError("a tuning worker failed:\n" + "\n".join(errors))


def _stop(processes, wait: float = 10.0) -> None:
    """After Ctrl-C: the workers got it too from a terminal; if they are still at work after
    ``wait`` seconds (the interrupt came to this process alone), it is passed on to them
    (a second one is harmless: each finishes recording its trial first)."""
    if _wait_for(processes, wait):
        return
    for process in processes:
        if process.is_alive() and process.pid:
            os.kill(process.pid, signal.SIGINT)
    _wait_for(processes, wait)


def _wait_for(processes, seconds: float) -> bool:
    """True once no process is alive, False if some still are after ``seconds``."""
    deadline = time.monotonic() + seconds
    while any(p.is_alive() for p in processes):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def _worker(storage, name, problem, left, messages, index) -> None:
    """A worker process: loads the study and runs trials while the shared budget lasts."""
    try:
        optuna = _optuna()
        optuna.logging.set_verbosity(optuna.logging.ERROR)
        study = optuna.load_study(study_name=name, storage=_storage(optuna, storage))
        study.sampler, study.pruner = _sampler(optuna, problem), _pruner(optuna, problem.prune)

        def claim():
            with left.get_lock():
                left.value -= 1
                return left.value >= 0

        with _Interrupts() as interrupts:
            _run_trials(study, problem, claim,
                        lambda frozen: messages.put(("trial", index, *_summary(frozen))),
                        interrupts)
    except KeyboardInterrupt:
        pass
    except BaseException:
        messages.put(("error", index, traceback.format_exc()))
    finally:
        messages.put(("done", index))


# -- the result ---------------------------------------------------------------------------------


class TuneResult:
    """What a search found: ``best_params``, ``best_value``, ``best_model``, ``trials``, ``study``.

    ``str(result)`` is a table of the best trials; in Jupyter it shows as an
    HTML table. ``to_csv(path)`` writes every trial, ``plot()`` draws the
    search, ``train(number)`` trains any trial's model again from its seed.
    """

    def __init__(self, study, problem: _Problem, classes, interrupted: bool):
        self.study = study
        self.space = problem.dims  # {name: nn.space dimension}
        self._problem = problem
        self.classes = classes
        self.interrupted = interrupted
        self.trials = [_record(frozen) for frozen in study.get_trials(deepcopy=False)]
        complete = [t for t in self.trials if t.state == "complete" and t.value is not None]
        self.best_trial = min(complete, key=lambda t: t.value) if complete else None
        self._best_model = None

    @property
    def best_params(self) -> dict | None:
        """The parameters of the trial with the lowest validation loss (None if none finished)."""
        return None if self.best_trial is None else dict(self.best_trial.params)

    @property
    def best_value(self) -> float | None:
        """The lowest validation loss of a complete trial."""
        return None if self.best_trial is None else self.best_trial.value

    @property
    def metric_name(self) -> str | None:
        loss = self._problem.loss
        return "accuracy" if loss in _CLASSIFICATION else "r2" if loss == "mse" else None

    @property
    def best_model(self):
        """The MLP of the best trial, trained again from its seed (once, on first use)."""
        if self._best_model is None:
            if self.best_trial is None:
                raise ValueError("no trial completed, so there is no best model: "
                                 + self._counts())
            self._best_model = self.train(self.best_trial.number)[0]
        return self._best_model

    def train(self, number: int, snapshots: bool = False):
        """(model, history) of trial ``number`` trained again: same parameters, seed and rows
        (``snapshots=True`` keeps each epoch's parameters, for ``viz.training_player``)."""
        trial = next((t for t in self.trials if t.number == number), None)
        if trial is None or trial.seed is None or (self._problem.dims and not trial.params):
            raise ValueError(f"trial {number} did not run here (trials: "
                             f"{', '.join(str(t.number) for t in self.trials) or 'none'})")
        return _train(self._problem, trial.params, trial.seed, snapshots=snapshots)

    def to_csv(self, path) -> None:
        """Writes every trial as a CSV row: number, state, value, metric, seconds, seed,
        epochs, one column per parameter (lists as JSON) and the reason."""
        names = list(self._problem.dims)
        metric = self.metric_name or "metric"
        with open(path, "w", newline="", encoding="utf-8") as file:
            writer = csv.writer(file)
            writer.writerow(["number", "state", "value", metric, "seconds", "seed", "epochs",
                             *names, "reason"])
            for t in self.trials:
                writer.writerow([t.number, t.state, _cell(t.value), _cell(t.metric),
                                 _cell(t.seconds), _cell(t.seed), _cell(t.epochs),
                                 *(_cell(t.params.get(n)) for n in names), _cell(t.reason)])

    def best(self, n: int = 10) -> list[Trial]:
        """The ``n`` complete trials with the lowest validation loss, best first."""
        complete = [t for t in self.trials if t.state == "complete" and t.value is not None]
        return sorted(complete, key=lambda t: t.value)[:n]

    def table(self, n: int = 10) -> str:
        """The best ``n`` trials as a text table, with a line counting the trials by state."""
        header, rows = self._rows(n)
        widths = [max(len(cell) for cell in column) for column in zip(header, *rows, strict=True)]
        lines = ["  ".join(cell.rjust(w) if i < 4 else cell.ljust(w)
                           for i, (cell, w) in enumerate(zip(cells, widths, strict=True))).rstrip()
                 for cells in (header, *rows)]
        return "\n".join([*lines, self._counts()])

    def _rows(self, n: int):
        metric = self.metric_name or "metric"
        header = ["trial", "val_loss", f"val_{metric}", "seconds", *self._problem.dims]
        rows = [[str(t.number), f"{t.value:.4g}", _cell(t.metric, 3), _cell(t.seconds, 2),
                 *(_cell(t.params.get(name)) for name in self._problem.dims)]
                for t in self.best(n)]
        return header, rows

    def _counts(self) -> str:
        states = {}
        for t in self.trials:
            states[t.state] = states.get(t.state, 0) + 1
        counted = ", ".join(f"{count} {state}" for state, count in states.items()) or "none"
        text = f"{len(self.trials)} trials ({counted})"
        if self._problem.grid_size:
            left = self._problem.grid_size - len(self.trials)
            text += (f"; the grid of {self._problem.grid_size} is complete" if left <= 0
                     else f"; {left} of the grid's {self._problem.grid_size} points are left")
        if self.best_trial is not None:
            text += f"; best: trial {self.best_trial.number}, val_loss {self.best_value:.4g}"
        return text + ("; interrupted" if self.interrupted else "")

    def __str__(self) -> str:
        return self.table()

    def __repr__(self) -> str:
        return f"TuneResult({self._counts()})"

    def _repr_html_(self) -> str:
        header, rows = self._rows(10)
        cells = "".join(f"<th>{html.escape(h)}</th>" for h in header)
        body = "".join("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in row) + "</tr>"
                       for row in rows)
        return (f"<div><p>{html.escape(self._counts())}</p><table><thead><tr>{cells}</tr>"
                f"</thead><tbody>{body}</tbody></table></div>")

    def plot(self):
        """A matplotlib Figure of the search: each trial's value with the best so far, the
        validation loss per epoch of every trial (pruned ones stop early) and, from
        ``optuna.importance``, how much each parameter mattered."""
        from ._search_plot import plot_search

        return plot_search(self)


def _record(frozen) -> Trial:
    state = _state(frozen)
    curve = [frozen.intermediate_values[step] for step in sorted(frozen.intermediate_values)]
    value = frozen.value if state == "complete" else (curve[-1] if state == "pruned" and curve
                                                      else None)
    attrs = frozen.user_attrs
    reason = attrs.get("reason")
    if state == "failed" and reason is None:
        reason = "failed (the process running it stopped)"
    return Trial(
        number=frozen.number, params=S.readable(frozen.params), value=value, state=state,
        seconds=frozen.duration.total_seconds() if frozen.duration else None,
        seed=attrs.get("seed"), epochs=attrs.get("epochs", len(curve) or None),
        metric=attrs.get("metric"), reason=reason if state != "complete" else None,
        worker=attrs.get("worker"), curve=curve,
    )


def _cell(value, digits: int = 6) -> str:
    if value is None:
        return ""
    if isinstance(value, list):
        return json.dumps(value)
    if isinstance(value, float):
        return f"{value:.{digits}g}"
    return str(value)
