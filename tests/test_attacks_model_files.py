"""Attacks on model files: tiny files claiming huge models, hostile payloads, things that are
not files. Anything that could hang runs in a subprocess with a timeout (attacks.run_python).
"""

import json
import os

import pytest
from attacks import run_python
from hypothesis import given, settings
from hypothesis import strategies as st

import nn
from nn import serialize
from nn.serialize import MAX_BYTES, MAX_PARAMETERS

MESSAGE_LIMIT = 1000  # characters: no message quotes a payload in full


def valid_content() -> dict:
    return json.loads(json.dumps(serialize.to_dict(nn.MLP(2, [2, 1], seed=0))))


def refused(text) -> str:
    """The ValueError message for a model file's text (anything else fails the test)."""
    with pytest.raises(ValueError) as caught:
        serialize.loads(text)
    message = str(caught.value)
    assert len(message) < MESSAGE_LIMIT, message[:200]
    return message


LOAD_IN_A_SUBPROCESS = """
import sys, nn
try:
    nn.load(sys.argv[1])
except ValueError as error:
    print("ValueError:", str(error)[:2000])
"""


def loaded_in_a_subprocess(path) -> str:
    result = run_python(LOAD_IN_A_SUBPROCESS, str(path))
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout


@pytest.mark.parametrize(
    "architecture, parameters",
    [
        ({"type": "Layer", "nin": 10**6, "nout": 10**6, "activation": "relu"}, {}),
        ({"type": "Layer", "nin": 1000, "nout": 10**6, "activation": "relu"}, {}),
        ({"type": "MLP", "nin": 1, "nouts": [10**6], "activation": "relu",
          "output_activation": "linear", "dropout": 0.0}, {}),
        ({"type": "MLP", "nin": 1, "nouts": [1] * 999_999, "activation": "relu",
          "output_activation": "linear", "dropout": 0.0}, {}),
        ({"type": "Neuron", "nin": 10**6, "activation": "relu"}, {}),
    ],
    ids=["layer 10^6 x 10^6", "layer 1000 x 10^6", "mlp 1 -> 10^6", "mlp of 999,999 ones",
         "neuron of 10^6 inputs"],
)
def test_a_small_file_claiming_a_huge_model_is_refused_at_once(tmp_path, architecture,
                                                              parameters):
    path = tmp_path / "huge.json"
    path.write_text(json.dumps({"format": "chainrule-model", "version": 1,
                                "architecture": architecture, "parameters": parameters}))
    assert path.stat().st_size < 10_000_000
    out = loaded_in_a_subprocess(path)
    assert "ValueError" in out
    assert f"more than {MAX_PARAMETERS}" in out or "missing parameters" in out


def test_a_model_under_the_cap_with_missing_parameters_is_refused_before_building(tmp_path):
    # 499,999 hidden units of one input: just under the cap, and no parameters given
    path = tmp_path / "missing.json"
    path.write_text(json.dumps({"format": "chainrule-model", "version": 1, "architecture": {
        "type": "Layer", "nin": 1, "nout": 499_999, "activation": "relu"}, "parameters": {}}))
    assert "missing parameters 'neurons.0.w.0'" in loaded_in_a_subprocess(path)


def test_a_repeated_key_among_300000_parameters_is_found_in_linear_time(tmp_path):
    # The quadratic check took 88 s for 100,000 parameters, so about 13 minutes for
    # these 300,000; one pass over the keys takes about a second.
    model_text = ",".join(f'"p{i}": 0.5' for i in range(300_000))
    path = tmp_path / "repeated.json"
    path.write_text(f'{{"format": "chainrule-model", "parameters": {{{model_text}, "p7": 1}}}}')
    assert path.stat().st_size > 4_000_000
    result = run_python(LOAD_IN_A_SUBPROCESS, str(path), timeout=60)
    assert "repeated key 'p7'" in result.stdout


@pytest.mark.parametrize("bad_type", [[], {}, None, 3, True, "x" * 1_000_000])
def test_an_architecture_type_that_is_no_name_is_a_value_error(bad_type):
    content = valid_content()
    content["architecture"]["type"] = bad_type
    assert "unknown architecture type" in refused(json.dumps(content))


@pytest.mark.parametrize("digits", [309, 400, 4001, 5000, 100_000])
def test_a_parameter_written_as_a_huge_integer_is_a_value_error_with_the_reason(digits):
    content = valid_content()
    name = next(iter(content["parameters"]))
    text = json.dumps(content).replace(
        json.dumps(content["parameters"][name]), "9" * digits, 1)
    message = refused(text)
    assert "digits" in message or "finite number" in message


def test_a_huge_float_literal_is_refused_as_not_finite():
    content = valid_content()
    name = next(iter(content["parameters"]))
    text = json.dumps(content).replace(json.dumps(content["parameters"][name]), "1e400", 1)
    assert "must be a finite number" in refused(text)


HUGE = "x" * 20_000_000  # the 20 MB parameter name of the issue, and friends


@pytest.mark.parametrize(
    "change",
    [
        lambda c: c["parameters"].update({HUGE: 0.5}),
        lambda c: c["parameters"].update({next(iter(c["parameters"])): HUGE}),
        lambda c: c.update(format=HUGE),
        lambda c: c.update(version=[HUGE]),
        lambda c: c.update({HUGE: 1}),
        lambda c: c["architecture"].update(activation=HUGE),
        lambda c: c["architecture"].update({HUGE: 1}),
        lambda c: c["architecture"].update(nouts=[HUGE]),
        lambda c: c["architecture"].update(nouts=list(range(1, 200_000))),
        lambda c: c["architecture"].update(dropout=HUGE),
        lambda c: c.update(parameters={f"{HUGE}{i}": 0.5 for i in range(3)}),
    ],
    ids=["parameter name", "parameter value", "format", "version", "top-level key",
         "activation", "architecture key", "size", "many sizes", "dropout", "many names"],
)
def test_messages_never_echo_a_huge_payload(change):
    content = valid_content()
    change(content)
    refused(json.dumps(content))  # checks the message length


def test_a_repeated_huge_key_is_quoted_short():
    text = f'{{"{HUGE}": 1, "{HUGE}": 2}}'
    assert "repeated key" in refused(text)


# -- things that are not model files ------------------------------------------------------


def test_dev_zero_is_refused_before_reading():
    if not os.path.exists("/dev/zero"):
        pytest.skip("no /dev/zero here")
    assert "is a device" in loaded_in_a_subprocess("/dev/zero")


def test_a_fifo_is_refused_instead_of_blocking(tmp_path):
    if not hasattr(os, "mkfifo"):
        pytest.skip("no FIFOs here")
    path = tmp_path / "model.json"
    os.mkfifo(path)
    assert "FIFO" in loaded_in_a_subprocess(path)  # the timeout fails a blocking read


def test_a_folder_is_refused_as_a_folder(tmp_path):
    with pytest.raises(ValueError, match="is a folder, not a model file"):
        nn.load(tmp_path)


def test_a_missing_file_is_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError, match="no such model file"):
        nn.load(tmp_path / "nothere.json")


def test_a_file_over_the_size_limit_is_refused_before_reading(tmp_path, monkeypatch):
    path = tmp_path / "big.json"
    with open(path, "wb") as handle:
        handle.truncate(MAX_BYTES + 1)  # sparse: no disk used, nothing worth reading
    read = []
    monkeypatch.setattr(os, "fdopen", lambda *a, **k: read.append(a))
    with pytest.raises(ValueError, match=f"at most {MAX_BYTES:,}"):
        nn.load(path)
    assert read == []  # refused from its size alone


def test_an_interrupted_save_leaves_the_old_file_and_no_partial_one(tmp_path, monkeypatch):
    path = tmp_path / "model.json"
    nn.MLP(2, [1], seed=0).save(path)
    before = path.read_text()

    def ctrl_c(*args):
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "replace", ctrl_c)
    with pytest.raises(KeyboardInterrupt):
        nn.MLP(2, [3, 1], seed=1).save(path)
    assert path.read_text() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.json"]


def test_loads_of_a_non_text_is_a_type_error():
    with pytest.raises(TypeError, match="str or bytes"):
        serialize.loads(3)


# -- every malformed file is a ValueError ---------------------------------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(10**30), 10**30) | st.floats()
    | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=8,
)


def _paths(value, prefix=()):
    yield prefix
    if isinstance(value, dict):
        for key, child in value.items():
            yield from _paths(child, (*prefix, key))
    elif isinstance(value, list):
        for i, child in enumerate(value):
            yield from _paths(child, (*prefix, i))


def _replaced(content, path, value):
    if not path:
        return value
    target = content
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = value
    return content


@settings(max_examples=150, deadline=None)
@given(data=st.data())
def test_any_field_replaced_by_any_json_loads_or_is_a_value_error(data):
    content = valid_content()
    path = data.draw(st.sampled_from(list(_paths(content))), label="path")
    changed = _replaced(content, path, data.draw(json_values, label="value"))
    try:
        model = serialize.loads(json.dumps(changed))  # nan and inf are written as NaN, Infinity
    except ValueError as error:
        assert len(str(error)) < MESSAGE_LIMIT
    else:
        assert isinstance(model, nn.Module)


@settings(max_examples=150, deadline=None)
@given(data=st.data())
def test_any_cut_or_flipped_bytes_load_or_are_a_value_error(data):
    raw = bytearray(json.dumps(valid_content()).encode())
    for _ in range(data.draw(st.integers(1, 4), label="edits")):
        at = data.draw(st.integers(0, len(raw) - 1), label="at")
        if data.draw(st.booleans(), label="cut"):
            del raw[at:]
            if not raw:
                break
        else:
            raw[at] = data.draw(st.integers(0, 255), label="byte")
    try:
        model = serialize.loads(bytes(raw))
    except ValueError as error:
        assert len(str(error)) < MESSAGE_LIMIT
    else:
        assert isinstance(model, nn.Module)


@pytest.mark.parametrize("sign, digits", [(1, 400), (-1, 5000)])
def test_load_state_dict_refuses_an_integer_beyond_float_range_and_changes_nothing(sign, digits):
    huge = sign * 10**digits
    model = nn.MLP(2, [2, 1])
    before = [p.data for p in model.parameters()]
    state = model.state_dict()
    state[next(iter(state))] = huge
    with pytest.raises(ValueError, match="too large for a float"):
        model.load_state_dict(state)
    assert [p.data for p in model.parameters()] == before
