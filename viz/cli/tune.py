"""``chainrule tune``: a hyperparameter search (``nn.tune`` on Optuna) from the command line.

    chainrule tune --dataset moons --epochs 60 --space space.json --trials 20 --out tuned
    chainrule tune --dataset moons --epochs 60 --space space.json --trials 10 \\
        --storage postgresql://tuner@db.example/studies --study moons   # on every machine

Every option of ``train`` is accepted and fixes that argument for every trial,
unless the space varies it (then the space wins). Several machines running
the same command with one ``--storage`` and ``--study`` share the search: each
runs its ``--trials``, a grid is split between them, each point run once.

Decisions where the spec is silent:

* Without ``--space`` the space is ``DEFAULT_SPACE`` (the learning rate and
  the hidden layers); a grid needs a space of choices.
* Inputs (and a regression target) are standardised as ``train`` does, and
  the best model's ``model.json`` takes raw inputs again.
* ``--out`` gets ``trials.csv`` (every trial of the study), ``search.svg``
  (TuneResult.plot) and, for the best trial trained again from its seed,
  the files ``train`` writes (model.json, history.csv, loss.svg, ...,
  training.html: the training player of that trial).
* Ctrl-C stops the search; the finished trials are still printed and
  written, and the exit status is 130 (interrupted), as a shell reports it.
"""

from __future__ import annotations

import json
from pathlib import Path

from . import train
from ._common import INTERRUPTED, UsageError, add_command, save_figure

STRATEGIES = ("grid", "random", "bayes")
DEFAULT_SPACE = {"lr": {"loguniform": [0.001, 0.3]}, "hidden": {"choice": [[8], [16], [16, 16]]}}


def add_parser(commands) -> None:
    """Registers ``tune``: train's options plus the search's."""
    tune = add_command(
        commands, "tune", run, help="search hyperparameters (grid, random or Bayesian) on Optuna",
        description="Search MLP and training hyperparameters with Optuna; writes trials.csv, "
        "search.svg and the best trial's model.json and pictures into --out. Run the same "
        "command on several machines with one --storage and --study to share the search.",
    )
    train.add_training_options(tune, validation_help="trials are judged on it",
                               validation_default=str(train.DEFAULT_VALIDATION))
    tune.set_defaults(model="mlp")  # the search trains MLPs (train's --model is train's own)
    tune.add_argument("--strategy", choices=STRATEGIES, default="bayes",
                      help="grid: every combination once; random; bayes: Optuna's TPE "
                      "(default: bayes)")
    tune.add_argument("--trials", type=int, default=20,
                      help="trials this command runs, over all its workers (default: 20)")
    tune.add_argument("--space", metavar="FILE.json",
                      help='the parameters to vary, e.g. {"lr": {"loguniform": [0.001, 0.3]}, '
                      '"hidden": {"choice": [[8], [16, 16]]}} (default: that, with [16] too)')
    tune.add_argument("--storage", metavar="URL",
                      help="where the study lives: sqlite:///tune.db, "
                      "postgresql://user@host/db or a path ending in .journal (default: memory)")
    tune.add_argument("--study", default="chainrule",
                      help="the study's name in the storage (default: chainrule)")
    tune.add_argument("--workers", type=int, default=1,
                      help="local worker processes (default: 1)")
    tune.add_argument("--no-prune", action="store_true",
                      help="never stop a trial early (default: Optuna's median pruner)")


def _read_space(path: str | None) -> dict:
    if path is None:
        return DEFAULT_SPACE
    file = Path(path)
    if not file.is_file():
        raise UsageError(f"--space {path}: no such file")
    try:
        given = json.loads(file.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise UsageError(f"--space {path} is not JSON: {error}") from None
    if not isinstance(given, dict):
        raise UsageError(f"--space {path} must hold a JSON object of parameter ranges, such as "
                         '{"lr": {"loguniform": [0.001, 0.3]}}')
    return given


def run(args) -> int:
    import nn
    from nn.tune import safe_url

    train._check_train_args(args)
    if args.validation is not None and not args.validation > 0:
        raise UsageError("--validation must be above 0: trials are judged on the held-out rows")
    for option, value in (("--trials", args.trials), ("--workers", args.workers)):
        if value < 1:
            raise UsageError(f"{option} must be at least 1, got {value}")
    space = _read_space(args.space)
    if args.validation is None:
        args.validation = train.DEFAULT_VALIDATION
    X, y, name, task, hidden, activation, n_out, loss, info = train.prepare(args)
    skipped = train._graph_files_skipped("mlp")  # no dot: say so before the search
    Xs, ys, scaling = train.standardized(X, y, task)
    fixed = {"hidden": hidden, "activation": activation, "norm": args.norm,
             "optimizer": args.optimizer, "lr": args.lr, "epochs": args.epochs,
             "batch_size": args.batch_size or None}
    fixed = {key: value for key, value in fixed.items() if key not in space}
    where = "memory" if args.storage is None else safe_url(args.storage)
    workers = f" over {args.workers} workers" if args.workers > 1 else ""
    print(f"tuning MLPs on {name} ({len(X)} rows, {task}, {loss}): {args.strategy} search, "
          f"{args.trials} trials{workers}, study {args.study!r} in {where}")
    try:
        result = nn.tune(
            Xs, ys, space, strategy=args.strategy, trials=args.trials,
            validation=args.validation, storage=args.storage, study=args.study,
            workers=args.workers, prune=not args.no_prune, seed=args.seed,
            progress=not args.no_progress, loss=loss, engine=args.engine, **fixed,
        )
    except (ValueError, TypeError) as error:  # the space, the study's settings
        raise UsageError(str(error)) from None
    print(result.table())
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    written = [out / "trials.csv", out / "search.svg"]
    result.to_csv(written[0])
    save_figure(result.plot(), written[1])
    if result.best_trial is not None:
        model, history = result.train(result.best_trial.number, snapshots=True)
        history.snapshots = train._folded(model, history.snapshots, *scaling)
        train._fold_scaling(model, *scaling)
        written += train._write_outputs(model, history, X, y, out, task,
                                        progress=not args.no_progress, info=info,
                                        graphs=not skipped)
    train.print_written(written, out)
    if result.interrupted:
        print("interrupted: the finished trials are kept (and in the storage, if any)")
        return INTERRUPTED
    return 0
