"""Stored outputs: the lossless codec, and its chunked storage on real SQLite studies and trials."""

from __future__ import annotations

import numpy as np
import optuna
import pytest

from harness.outputs import PREFIX, pack, unpack
from harness.storage import CHUNK_CHARS, get_output, open_storage, output_keys, put_output, study_system_attrs


def test_pack_round_trips_text_numbers_and_arrays_exactly():
    rng = np.random.default_rng(0)
    forecast = np.rint(rng.normal(size=(40, 96, 7)).cumsum(axis=1) / 1e-3).astype(np.int32)
    obj = {"hypotheses": ["ein Hund", "zwei Katzen", ""], "quantum": 1e-3, "forecast": forecast,
           "targets": rng.normal(size=(135, 7)).astype(np.float32), "offsets": np.arange(40, dtype=np.int64),
           "scalar": np.float64(0.25), "nested": [{"a": None, "b": True}]}
    back = unpack(pack(obj))
    assert back["hypotheses"] == obj["hypotheses"] and back["quantum"] == 1e-3 and back["scalar"] == 0.25
    assert back["nested"] == [{"a": None, "b": True}]
    for key in ("forecast", "targets", "offsets"):
        assert back[key].dtype == obj[key].dtype and back[key].shape == obj[key].shape
        assert np.array_equal(back[key], obj[key])


def test_integer_forecasts_are_differenced_along_the_horizon_and_compress():
    smooth = np.rint(np.sin(np.linspace(0, 20, 96))[None, :, None] * np.ones((500, 1, 3)) / 1e-3).astype(np.int32)
    text = pack({"forecast": smooth})
    assert len(text) < smooth.nbytes / 20  # 576,000 raw bytes; the differences along axis 1 are small and repeat
    assert np.array_equal(unpack(text)["forecast"], smooth)


def test_bad_input_is_refused_with_the_reason():
    with pytest.raises(ValueError, match="not a packed output"):
        unpack("this is not base64 lzma")
    with pytest.raises(TypeError, match="cannot store an output of type set"):
        pack({"x": {1, 2}})


def test_put_and_get_on_a_study_and_a_running_trial_with_chunks(tmp_path):
    storage = open_storage(f"sqlite:///{tmp_path / 'o.db'}", write=True)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(study_name="s", storage=storage)
    big = np.random.default_rng(1).integers(-2**30, 2**30, size=(200, 300), dtype=np.int64)  # incompressible
    size = put_output(study, "trial.3.test", {"forecast": big})
    assert size > 2 * CHUNK_CHARS
    attrs = study_system_attrs(study)
    assert attrs[f"{PREFIX}trial.3.test.parts"] == -(-size // CHUNK_CHARS)
    assert all(len(v) <= CHUNK_CHARS for k, v in attrs.items() if k.startswith(PREFIX) and not k.endswith(".parts"))
    assert np.array_equal(get_output(attrs, "trial.3.test")["forecast"], big)
    assert get_output(attrs, "missing") is None
    trial = study.ask()
    put_output(trial, "test", {"hypotheses": ["a", "b"]})
    frozen = study.tell(trial, 1.0)
    assert get_output(frozen.system_attrs, "test") == {"hypotheses": ["a", "b"]}
    assert output_keys(study_system_attrs(study)) == ["trial.3.test"]
    assert study.trials[0].user_attrs == {}  # outputs never crowd the user attributes the dashboard shows
