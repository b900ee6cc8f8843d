"""``chainrule data``: write a built-in data set as a CSV file.

    chainrule data house_prices -o houses.csv
    chainrule data iris -o iris.csv
    chainrule data moons --samples 500 --seed 3 -o moons.csv

The file has a header row and the target column last (house prices' is
``price``, iris's ``species`` with the class names), so the README's CSV
examples (``chainrule train --dataset houses.csv --target price``) start from
it. Columns are named as ``train`` names a built-in data set's inputs
(``x0, x1, ..., label`` for the generated ones). ``--samples`` and
``--seed`` are those of ``train``: ``chainrule data moons`` writes the very
points ``chainrule train --dataset moons`` trains on.
"""

from __future__ import annotations

from pathlib import Path

from . import train
from ._common import UsageError, add_command


def add_parser(commands) -> None:
    """Registers ``data`` and its options."""
    command = add_command(
        commands, "data", run, help="write a built-in data set as CSV (header row, target last)",
        description="Write a built-in data set as a CSV file with a header row, the target "
        "column last (house_prices: price; iris: species). Data sets: "
        f"{', '.join(train.DATASETS)}.",
    )
    command.add_argument("name", metavar="NAME", help="the data set, e.g. house_prices")
    command.add_argument("-o", "--output", required=True, help="the CSV file to write")
    command.add_argument("--samples", type=int,
                         help="points of a generated data set (default: 200, as train); rows "
                         "drawn at random from a bundled one (default: all)")
    command.add_argument("--seed", type=int, default=0, help="(default: 0, as train)")


def run(args) -> int:
    if args.name not in train.DATASETS:
        raise UsageError(train.unknown_dataset(args.name).replace(" or a CSV file", ""))
    if args.samples is not None and args.samples < 4:
        raise UsageError(f"--samples must be at least 4, got {args.samples}")
    if args.seed < 0:
        raise UsageError(f"--seed must be at least 0, got {args.seed}")
    output = Path(args.output)
    if output.is_dir():
        raise UsageError(f"-o {args.output} is a folder; expected a file name such as data.csv")
    if not output.parent.is_dir():
        raise UsageError(f"-o {args.output}: the folder {output.parent} does not exist")
    from nn import data

    args.dataset, args.target, args.delimiter, args.model = args.name, None, None, "mlp"
    X, y, _, features, target = train.load_named_dataset(args)
    X = X.reshape(len(X), -1)  # digits' images row by row
    data.save_csv(output, X, y, features, target)
    print(f"wrote {len(X)} rows of {args.name} to {output} (columns {', '.join(features[:4])}"
          f"{', ...' if len(features) > 4 else ''}; target {target})")
    return 0
