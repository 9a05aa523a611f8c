"""Tests of emo_lib.io: atomic writes leave either the whole file or the old one."""

import json
import os
import stat

import numpy as np
import pytest

from emo_lib.io import atomic_path, atomic_save_npz, atomic_write_json, atomic_write_text, load_npz, settings_key


def test_failed_write_keeps_the_old_file_and_no_temporary(tmp_path):
    target = tmp_path / "result.json"
    atomic_write_json(target, {"a": 1})
    with pytest.raises(RuntimeError):
        with atomic_path(target) as tmp:
            tmp.write_text("half")
            raise RuntimeError("killed")
    assert json.loads(target.read_text()) == {"a": 1}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["result.json"]


def test_round_trips_and_permissions(tmp_path):
    arrays = {"x": np.arange(6).reshape(2, 3), "y": np.float32(2.5)}
    path = atomic_save_npz(tmp_path / "sub" / "a.npz", **arrays)
    loaded = load_npz(path)
    np.testing.assert_array_equal(loaded["x"], arrays["x"])
    assert loaded["y"] == np.float32(2.5)
    text = atomic_write_text(tmp_path / "t.txt", "héllo\n")
    assert text.read_text(encoding="utf-8") == "héllo\n"
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE(text.stat().st_mode) == 0o666 & ~umask
    data = {"n": np.int64(3), "v": np.float32(0.5), "a": np.arange(2), "p": tmp_path}
    assert json.loads(atomic_write_json(tmp_path / "d.json", data).read_text())["a"] == [0, 1]


def test_settings_key_is_stable_and_sensitive():
    assert settings_key({"a": 1, "b": [1, 2]}) == settings_key({"b": [1, 2], "a": 1})
    assert settings_key({"a": 1}) != settings_key({"a": 2})
    assert len(settings_key({"a": 1}, length=8)) == 8
