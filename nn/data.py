"""Small data sets for learning how networks learn, made with numpy (no downloads).

Each generator returns ``(X, y)``: X a float array of shape (n, features), y
integer class labels (classification) or floats (``house_prices``).

``seed`` is an int, a ``numpy.random.Generator`` / ``RandomState``, or None
for numpy's global generator, so ``np.random.seed(1337)`` before ``moons()``
reproduces ``sklearn.datasets.make_moons(n_samples=100, noise=0.1)`` exactly,
the data of micrograd's demo notebook (``moons`` follows sklearn's algorithm
draw for draw; ``circles`` and ``blobs`` follow sklearn's too).

``load_csv`` reads a CSV file with a header row (``save_csv`` writes one);
``train_test_split`` and ``batches`` split data for training.

Real data without downloads: ``digits``, ``iris``, ``wine`` and
``breast_cancer`` are scikit-learn's bundled copies of the UCI data sets
(scikit-learn is imported when one is asked for). ``digits(images=True)``
gives X of shape (n, 1, 8, 8), one-channel images for ``nn.Conv2d``.

Sequences: ``parity`` and ``sine_waves`` give X of shape (n, length), each
row a sequence of numbers for ``nn.RNN(1, hidden)``.
"""

from __future__ import annotations

import csv
import io
import math
import numbers
import os

import numpy as np

from ._checks import MAX_ROWS, non_negative, positive_int, quoted, read_regular_file

MAX_CSV_BYTES = 200_000_000  # a scalar engine trains on thousands of rows, not gigabytes


def _generator(seed):
    """numpy's global generator for None, a new Generator for an int, or seed itself."""
    if seed is None:
        return np.random.mtrand._rand  # what np.random.seed() seeds
    if isinstance(seed, (np.random.Generator, np.random.RandomState)):
        return seed
    if isinstance(seed, numbers.Integral) and not isinstance(seed, bool):
        if seed < 0:
            raise ValueError(f"seed must be an int >= 0 (numpy's rule), got {seed}")
        return np.random.default_rng(int(seed))
    raise TypeError(
        f"seed must be an int, a numpy Generator/RandomState or None, got {type(seed).__name__}"
    )


def _shuffled_with_noise(X, y, noise, rng, shuffle: bool):
    """sklearn's order of draws: a permutation of the rows, then Gaussian noise."""
    if shuffle:
        order = np.arange(len(X))
        rng.shuffle(order)
        X, y = X[order], y[order]
    if noise:
        X = X + rng.normal(scale=noise, size=X.shape)
    return X, y


def _rows(n) -> int:
    return positive_int(n, "n (the number of rows)", most=MAX_ROWS)


def _sequences(n, length) -> tuple[int, int]:
    n, length = _rows(n), positive_int(length, "length")
    if n * length > MAX_ROWS:
        raise ValueError(f"n x length must be at most {MAX_ROWS:,} values, got {n:,} x {length:,}")
    return n, length


def xor() -> tuple[np.ndarray, np.ndarray]:
    """The four points of XOR: inputs in {0, 1}^2, label 1 where exactly one input is 1."""
    X = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
    return X, np.array([0, 1, 1, 0])


def moons(n: int = 100, noise: float = 0.1, seed=None, shuffle: bool = True):
    """Two interleaving half circles (labels 0 and 1), as sklearn's make_moons."""
    n, noise = _rows(n), non_negative(noise, "noise")
    rng = _generator(seed)
    n_out, n_in = n // 2, n - n // 2
    angles_out, angles_in = np.linspace(0, np.pi, n_out), np.linspace(0, np.pi, n_in)
    X = np.vstack(
        [
            np.append(np.cos(angles_out), 1 - np.cos(angles_in)),
            np.append(np.sin(angles_out), 1 - np.sin(angles_in) - 0.5),
        ]
    ).T
    y = np.hstack([np.zeros(n_out, dtype=np.intp), np.ones(n_in, dtype=np.intp)])
    return _shuffled_with_noise(X, y, noise, rng, shuffle)


def circles(n: int = 100, noise: float = 0.05, factor: float = 0.5, seed=None, shuffle=True):
    """A circle (label 0) around a smaller one ``factor`` times its radius (label 1)."""
    n, noise = _rows(n), non_negative(noise, "noise")
    if not isinstance(factor, numbers.Real) or not 0.0 < factor < 1.0:
        raise ValueError(f"factor must lie in (0, 1), got {factor!r}")
    rng = _generator(seed)
    n_out, n_in = n // 2, n - n // 2
    angles_out = np.linspace(0, 2 * np.pi, n_out, endpoint=False)
    angles_in = np.linspace(0, 2 * np.pi, n_in, endpoint=False)
    X = np.vstack(
        [
            np.append(np.cos(angles_out), factor * np.cos(angles_in)),
            np.append(np.sin(angles_out), factor * np.sin(angles_in)),
        ]
    ).T
    y = np.hstack([np.zeros(n_out, dtype=np.intp), np.ones(n_in, dtype=np.intp)])
    return _shuffled_with_noise(X, y, noise, rng, shuffle)


def blobs(n: int = 100, centers: int = 3, features: int = 2, std: float = 1.0, seed=None):
    """Gaussian blobs around ``centers`` random centres in [-10, 10]^features; label = blob."""
    n, centers = _rows(n), positive_int(centers, "centers", most=MAX_ROWS)
    features = positive_int(features, "features", most=1000)
    std = non_negative(std, "std")
    rng = _generator(seed)
    middle = rng.uniform(-10.0, 10.0, size=(centers, features))
    sizes = [n // centers + (1 if i < n % centers else 0) for i in range(centers)]
    X = np.vstack(
        [rng.normal(middle[i], std, size=(size, features)) for i, size in enumerate(sizes)]
    )
    y = np.hstack([np.full(size, i, dtype=np.intp) for i, size in enumerate(sizes)])
    return _shuffled_with_noise(X, y, 0.0, rng, True)


def spiral(n: int = 150, classes: int = 3, noise: float = 0.2, seed=None):
    """``classes`` interleaved spiral arms (CS231n's data set); n points in all."""
    n, classes = _rows(n), positive_int(classes, "classes", most=MAX_ROWS)
    noise = non_negative(noise, "noise")
    rng = _generator(seed)
    X, y = [], []
    for c in range(classes):
        size = n // classes + (1 if c < n % classes else 0)
        radius = np.linspace(0.0, 1.0, size)
        angle = np.linspace(c * 4.0, (c + 1) * 4.0, size) + rng.normal(size=size) * noise
        X.append(np.column_stack([radius * np.sin(angle), radius * np.cos(angle)]))
        y.append(np.full(size, c, dtype=np.intp))
    return _shuffled_with_noise(np.vstack(X), np.hstack(y), 0.0, rng, True)


def house_prices(n: int = 100, noise: float = 20.0, seed=None):
    """House size (m^2) and bedrooms -> price (thousands), a linear rule plus Gaussian noise.

    price = 50 + 2.5 * size + 15 * bedrooms + noise. Features have very
    different scales: standardise them (``standardize``) before training.
    """
    n, noise = _rows(n), non_negative(noise, "noise")
    rng = _generator(seed)
    size = rng.uniform(40.0, 250.0, size=n)
    bedrooms = np.clip(np.round(size / 45.0 + rng.normal(scale=0.7, size=n)), 1, 6)
    price = 50.0 + 2.5 * size + 15.0 * bedrooms + rng.normal(scale=noise, size=n)
    return np.column_stack([size, bedrooms]), price


def standardize(X, mean=None, std=None):
    """(X - mean) / std per column; returns ``(X_scaled, mean, std)`` (reuse them on test data).

    Each column is first divided by a power of two near its largest magnitude:
    that is exact, so the numbers are those of ``(X - mean) / std``, but
    values near the float limits (±1e300) overflow neither the deviation nor
    the differences (they would give inf, and then zeros).
    """
    X = np.asarray(X, dtype=float)
    mean = None if mean is None else np.asarray(mean, dtype=float)
    std = None if std is None else np.asarray(std, dtype=float)
    largest = np.abs(X).max(axis=0) if len(X) else np.zeros(X.shape[1:])
    for given in (mean, std):
        if given is not None:
            largest = np.maximum(largest, np.abs(given))
    scale = _power_of_two_below(largest)
    Z = X / scale
    mean = Z.mean(axis=0) * scale if mean is None else mean
    std = Z.std(axis=0) * scale if std is None else std
    std = np.where(std == 0.0, 1.0, std)  # a constant column stays 0, not nan
    return (Z - mean / scale) / (std / scale), mean, std


def _power_of_two_below(largest: np.ndarray) -> np.ndarray:
    """2 ** k <= largest < 2 ** (k + 1) per column (1.0 for zeros and non-finite values)."""
    _, exponent = np.frexp(largest)
    scale = np.ldexp(1.0, exponent - 1)
    return np.where((largest > 0.0) & np.isfinite(largest), scale, 1.0)


DELIMITERS = (",", ";", "\t")  # what load_csv tells apart when no delimiter is given


def load_csv(path, target=None, delimiter: str | None = None):
    """Reads a CSV file with a header row; returns (X, y), y the ``target`` column (default: last).

    See ``load_csv_named`` for the rules (it also returns the column names).
    """
    X, y, _, _ = load_csv_named(path, target, delimiter)
    return X, y


def load_csv_named(path, target=None, delimiter: str | None = None):
    """(X, y, feature names, target name) of a CSV file with a header row.

    y is the ``target`` column (default: the last). The file must be UTF-8
    text (a BOM is allowed) of at most ``MAX_CSV_BYTES`` and every feature
    cell a finite number. The target column holds numbers,
    or class names (``setosa``, ``yes``) when none of its cells is a number:
    then y is an array of str. Errors name the file, the row and the column;
    rows are counted as the file's lines (1 is the first line, blank lines
    count). A first row of numbers is not a header: the file is refused
    (a header names the columns). Without ``delimiter``, the header row's
    most frequent of ``,`` ``;`` and tab is the delimiter (``,`` when it
    holds none). A folder, a device or a FIFO is refused before reading.
    """
    path = os.fspath(path)
    if delimiter is not None and (not isinstance(delimiter, str) or len(delimiter) != 1):
        raise ValueError(f"delimiter must be one character, got {quoted(delimiter)}")
    text = _csv_text(path, read_regular_file(path, "CSV file", MAX_CSV_BYTES))
    delimiter = delimiter or _sniffed_delimiter(text)
    rows = _csv_rows(path, text, delimiter)
    if not rows:
        raise ValueError(f"{path} is empty: expected a header row and data rows")
    header_line, header = rows[0]
    header = [name.strip() for name in header]
    if len(rows) < 2:
        raise ValueError(f"{path} has a header but no data rows")
    if target is None:
        column = len(header) - 1
    elif isinstance(target, str):
        if target not in header:
            raise ValueError(
                f"{path} has no column {quoted(target)}; columns are {_names(header)}"
            )
        column = header.index(target)
    else:
        raise TypeError(f"target must be a column name, got {type(target).__name__}")
    if len(header) < 2:
        raise ValueError(
            f"{path} needs at least two columns (features and a target); its header (row "
            f"{header_line}) has one: is the delimiter {delimiter!r} right?"
        )
    features = [c for c in range(len(header)) if c != column]
    if all(_number(header[c]) is not None for c in features):
        raise ValueError(
            f"{path}, row {header_line}: {_names(header, 4)} are numbers, not column names: "
            "the file needs a header row naming the columns (such as x0,x1,label) before "
            "its data"
        )
    for line, row in rows[1:]:
        if len(row) != len(header):
            raise ValueError(
                f"{path}, row {line}: {len(row)} cells, but the header has {len(header)}"
            )
    names = _class_names(rows, column)
    table = np.empty((len(rows) - 1, len(header)))
    for r, (line, row) in enumerate(rows[1:]):
        for c, cell in enumerate(row):
            if c == column and names is not None:
                table[r, c] = 0.0
                continue
            number = _number(cell)
            if number is None:
                hint = " (class names in the target column must all be names)" \
                    if c == column else ""
                raise ValueError(
                    f"{path}, row {line}, column {quoted(header[c], 40)}: "
                    f"{quoted(cell, 40)} is not a number{hint}"
                )
            if not math.isfinite(number):
                raise ValueError(
                    f"{path}, row {line}, column {quoted(header[c], 40)}: "
                    f"{quoted(cell, 40)} is not finite"
                )
            table[r, c] = number
    y = table[:, column] if names is None else np.array(names, dtype=str)
    return table[:, features], y, [header[c] for c in features], header[column]


def _number(cell: str) -> float | None:
    try:
        return float(cell)
    except ValueError:
        return None


def _class_names(rows, column: int) -> list[str] | None:
    """The target column's cells (stripped) when every one is a name, not a number; else None."""
    cells = [row[column].strip() for _, row in rows[1:]]
    if all(cell and _number(cell) is None for cell in cells):
        return cells
    return None


def _sniffed_delimiter(text: str) -> str:
    """The most frequent of DELIMITERS in the first non-blank line (``,`` if none is there)."""
    first = next((line for line in text.splitlines() if line.strip()), "")[:100_000]
    counts = [first.count(d) for d in DELIMITERS]
    return DELIMITERS[counts.index(max(counts))] if max(counts) else ","


def save_csv(path, X, y, columns, target: str) -> None:
    """Writes X and y as CSV: a header row (``columns``, then ``target``), a row per sample.

    Numbers are written with ``repr`` (they read back exactly); y may hold
    class names. ``load_csv(path)`` reads the file back as (X, y).
    """
    X, y = np.asarray(X), np.asarray(y)
    if X.ndim != 2 or len(X) != len(y) or len(columns) != X.shape[1]:
        raise ValueError(
            f"expected X of shape (n, {len(columns)}) and n targets, got X {X.shape}, y {y.shape}"
        )
    with open(os.fspath(path), "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow([*columns, target])
        for row, value in zip(X.tolist(), y.tolist(), strict=True):
            writer.writerow([*row, value])


def _names(header: list[str], limit: int = 10) -> str:
    shown = ", ".join(name if len(name) <= 40 else f"{name[:39]}…" for name in header[:limit])
    return shown + (f" and {len(header) - limit} more" if len(header) > limit else "")


def _csv_text(path: str, raw: bytes) -> str:
    """The file's text; ValueError naming the line for binary data or text that is not UTF-8."""
    if b"\x00" in raw:
        line = raw.count(b"\n", 0, raw.index(b"\x00")) + 1
        raise ValueError(f"{path}, row {line}: a NUL byte: binary data, not a CSV text file")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = raw.count(b"\n", 0, error.start) + 1
        raise ValueError(
            f"{path}, row {line}: byte {raw[error.start]:#04x} is not UTF-8 text; "
            "save the file as UTF-8 (it may be Latin-1 or binary data)"
        ) from None


def _csv_rows(path: str, text: str, delimiter: str) -> list[tuple[int, list[str]]]:
    """(line number, cells) of each non-blank row; ValueError naming the line for bad text."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    rows = []
    try:
        for row in reader:
            if row:
                # line_num is the line where the row ended (a quoted cell may span lines)
                rows.append((reader.line_num, row))
    except csv.Error as error:  # a cell over csv.field_size_limit()
        reason = str(error)
        if "field limit" in reason:
            reason = (
                f"a cell longer than {csv.field_size_limit():,} characters (is the delimiter "
                f"{delimiter!r} right?)"
            )
        raise ValueError(f"{path}, row {max(reader.line_num, 1)}: not valid CSV: {reason}") \
            from None
    return rows


def train_test_split(X, y, test_size=0.25, seed=None, shuffle: bool = True):
    """Splits rows into ``X_train, X_test, y_train, y_test`` (sklearn's order).

    ``test_size`` is a fraction in (0, 1) or a number of rows.
    """
    X, y = np.asarray(X), np.asarray(y)
    n = len(X)
    if len(y) != n:
        raise ValueError(f"X has {n} rows but y has {len(y)}")
    if isinstance(test_size, numbers.Integral) and not isinstance(test_size, bool):
        n_test = int(test_size)
    elif isinstance(test_size, numbers.Real) and 0.0 < test_size < 1.0:
        n_test = math.ceil(test_size * n)  # as sklearn
    else:
        raise ValueError(
            f"test_size must be a fraction in (0, 1) or a row count, got {test_size!r}"
        )
    if not 0 < n_test < n:
        raise ValueError(
            f"test_size {test_size!r} leaves no rows for training or testing ({n} rows)"
        )
    order = _generator(seed).permutation(n) if shuffle else np.arange(n)
    test, train = order[:n_test], order[n_test:]
    return X[train], X[test], y[train], y[test]


def batches(X, y, batch_size: int, shuffle: bool = True, seed=None):
    """Yields ``(X_batch, y_batch)`` covering every row once; the last batch may be smaller."""
    X, y = np.asarray(X), np.asarray(y)
    if len(X) != len(y):
        raise ValueError(f"X has {len(X)} rows but y has {len(y)}")
    batch_size = positive_int(batch_size, "batch_size")
    order = _generator(seed).permutation(len(X)) if shuffle else np.arange(len(X))
    for start in range(0, len(X), batch_size):
        rows = order[start : start + batch_size]
        yield X[rows], y[rows]


# -- real data bundled with scikit-learn ---------------------------------------------------


def _bundled(name: str):
    """(data, target) of scikit-learn's bundled copy of data set ``name`` (no download)."""
    try:
        from sklearn import datasets
    except ImportError:
        raise ImportError(
            f"nn.data.{name}() reads the copy bundled with scikit-learn: pip install scikit-learn"
        ) from None
    bunch = getattr(datasets, f"load_{name}")()
    return np.asarray(bunch.data, dtype=float), np.asarray(bunch.target, dtype=np.intp)


def digits(images: bool = False):
    """1,797 handwritten digits of 8x8 pixels (0 to 16), labels 0-9.

    X has shape (1797, 64), or (1797, 1, 8, 8) with ``images=True``
    (channel, row, column: the layout of ``nn.Conv2d``).
    """
    X, y = _bundled("digits")
    return (X.reshape(-1, 1, 8, 8) if images else X), y


def iris():
    """150 iris flowers: 4 measurements (cm) -> 3 species (labels 0-2)."""
    return _bundled("iris")


def wine():
    """178 wines: 13 chemical measurements -> 3 cultivars (labels 0-2). Standardise X first."""
    return _bundled("wine")


def breast_cancer():
    """569 tumours: 30 features of cell nuclei -> malignant (0) or benign (1). Standardise X."""
    return _bundled("breast_cancer")


# -- generated sequences ---------------------------------------------------------------------


def parity(n: int = 1000, length: int = 8, seed=None):
    """n random bit strings of ``length`` bits (X, floats 0/1); y = 1 when the count of ones is odd.

    The classic hard case for recurrent networks: every bit matters to the
    answer, however far back. There are only 2**length distinct strings, so
    a large n repeats them.
    """
    n, length = _sequences(n, length)
    bits = _generator(seed).integers(0, 2, size=(n, length))
    return bits.astype(float), (bits.sum(axis=1) % 2).astype(np.intp)


def sine_waves(n: int = 200, length: int = 20, seed=None):
    """n stretches of sine waves, ``length`` samples each (X); y is the next sample.

    Each wave has its own frequency (0.2 to 0.6 radians per step) and phase:
    ``X[k, t] = sin(f_k * t + phase_k)`` for t < length and
    ``y[k] = sin(f_k * length + phase_k)``. A regression: predict the next value.
    """
    n, length = _sequences(n, length)
    rng = _generator(seed)
    frequency = rng.uniform(0.2, 0.6, size=(n, 1))
    phase = rng.uniform(0.0, 2 * np.pi, size=(n, 1))
    waves = np.sin(frequency * np.arange(length + 1) + phase)
    return waves[:, :length], waves[:, length]


DATASETS = {
    "xor": xor,
    "moons": moons,
    "circles": circles,
    "blobs": blobs,
    "spiral": spiral,
    "house_prices": house_prices,
    "parity": parity,
    "sine_waves": sine_waves,
    "digits": digits,
    "iris": iris,
    "wine": wine,
    "breast_cancer": breast_cancer,
}
# The bundled data sets have a fixed size and no randomness: no n, no seed.
BUNDLED = ("digits", "iris", "wine", "breast_cancer")
