"""The VIMA-Bench bridge against a fake backend: protocol, worker failures, and the Gymnasium adapter.

The fake (``fake_vima_bench``) has VIMA-Bench's gym-0.21 API; workers find it through PYTHONPATH.
Set ``UIO_AGENT_TEST_NUMPY1_PYTHON`` to an interpreter with numpy 1.x (e.g. ``python3 -m venv
/tmp/np1 && /tmp/np1/bin/pip install 'numpy<2'``) to run the worker under numpy 1 as well.
"""

from __future__ import annotations

import ast
import enum
import math
import os
import re
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

from uio_agent.envs import EnvName, make_env
from uio_agent.envs.adapters import vima_bench as adapter
from uio_agent.envs.adapters.vima_bench import VimaBenchEnv, VimaBenchUnavailableError
from uio_agent.envs.registry import expand_env_name
from uio_agent.envs.remote import (
    LocalWorker,
    ProtocolError,
    RemoteCallError,
    RemoteError,
    RemoteWorker,
    WorkerDiedError,
    pack_message,
    parse_prefix,
    unpack_message,
)

HERE = Path(__file__).resolve().parent
ECHO = f"{HERE / 'remote_echo_handler.py'}:EchoHandler"
WORKER_ENV = {"PYTHONPATH": str(HERE)}
FAKE = {"python": sys.executable, "module": "fake_vima_bench", "worker_env": WORKER_ENV}
NUMPY1_VAR = "UIO_AGENT_TEST_NUMPY1_PYTHON"
SRC = Path(adapter.__file__).resolve().parents[1]
WORKER_SIDE_FILES = [
    SRC / "remote.py",
    SRC / "adapters" / "vima_bench_worker.py",
    HERE / "fake_vima_bench" / "__init__.py",
    HERE / "remote_echo_handler.py",
]

sys.path.insert(0, str(HERE))
import remote_echo_handler  # noqa: E402


@pytest.fixture(autouse=True)
def _no_user_interpreter(monkeypatch: pytest.MonkeyPatch) -> None:
    """A developer's UIO_AGENT_VIMA_PYTHON must not change which backend these tests use."""
    monkeypatch.delenv(adapter.PYTHON_ENV_VAR, raising=False)


def _roundtrip(value: Any) -> Any:
    chunks = pack_message({"op": "x"}, value)
    head_len, payload_len = parse_prefix(chunks[0])
    rest = b"".join(chunks[1:])
    assert len(rest) == head_len + payload_len
    _, body = unpack_message(rest[:head_len], bytearray(rest[head_len:]))
    return body


def _assert_same_array(a: np.ndarray, b: np.ndarray) -> None:
    assert a.dtype.str == b.dtype.str and a.shape == b.shape
    assert np.ascontiguousarray(a).tobytes() == np.ascontiguousarray(b).tobytes()


def _oracle_episode(env: gym.Env, seed: int) -> tuple[dict, int]:
    obs, info = env.reset(seed=seed, options={"oracle": True})
    oracle = env.unwrapped.task.oracle(env.unwrapped)
    steps = 0
    while True:
        action = oracle.act(obs)
        assert action is not None
        obs, _, terminated, truncated, info = env.step(action)
        steps += 1
        if terminated or truncated:
            return info, steps


# --------------------------------------------------------------------------- protocol


def test_protocol_roundtrips_every_dtype_byte_exact() -> None:
    arrays = remote_echo_handler.reference_arrays()
    back = _roundtrip(arrays)
    assert set(back) == set(arrays)
    for key, array in arrays.items():
        _assert_same_array(back[key], array)
    assert back["<f4"].flags.writeable  # callers may modify observations in place


def test_protocol_keeps_containers_scalars_and_keys() -> None:
    value = {
        "nested": {"list": [1, 2.5, "x", None, True], "tuple": (1, (2, 3))},
        7: "int key",
        (1, 2): "tuple key",
        "scalars": [np.float32(1.5), np.int64(-3), np.bool_(True), np.uint8(200)],
        "bytes": b"\x00\xff",
        "floats": [math.inf, -math.inf, 1e308],
        "big": 2**70,
        "unicode": "déjà vu {dragged_obj}",
        "empty": {},
    }
    back = _roundtrip(value)
    assert back["nested"] == value["nested"] and isinstance(back["nested"]["tuple"][1], tuple)
    assert back[7] == "int key" and back[(1, 2)] == "tuple key"
    for got, sent in zip(back["scalars"], value["scalars"], strict=True):
        assert type(got) is type(sent) and got == sent
    assert back["bytes"] == b"\x00\xff" and back["floats"] == value["floats"] and back["big"] == 2**70
    assert back["unicode"] == value["unicode"] and back["empty"] == {}
    assert math.isnan(_roundtrip(math.nan))


def test_protocol_rejects_what_cannot_cross() -> None:
    with pytest.raises(TypeError, match=r"builtins.function.*\['fn'\]"):
        pack_message({}, {"fn": lambda: None})
    with pytest.raises(TypeError, match="dtype object"):
        pack_message({}, np.array([None, 1], dtype=object))
    with pytest.raises(ProtocolError, match="something other than the protocol"):
        parse_prefix(b"pybullet build t"[:16])


def test_worker_side_files_are_python38_and_numpy1_compatible() -> None:
    """The worker runs in the benchmark's interpreter: Python 3.8 syntax, no numpy-2-only names."""
    numpy2_only = re.compile(
        r"np\.(bool|long|ulong|trapezoid|concat|unstack|isdtype|permute_dims|matrix_transpose|"
        r"astype|cumulative_sum|bitwise_left_shift|pow|acos|asin|atan2?)\b|copy=None|np\.lib\.array_utils"
    )
    for path in WORKER_SIDE_FILES:
        source = path.read_text()
        ast.parse(source, filename=str(path), feature_version=(3, 8))
        assert "from __future__ import annotations" in source, path  # keeps 3.9+ annotations unevaluated
        assert not numpy2_only.search(source), f"{path}: {numpy2_only.search(source)}"
        imports = {
            alias.name.split(".")[0]
            for node in ast.walk(ast.parse(source))
            if isinstance(node, ast.Import | ast.ImportFrom)
            for alias in (node.names if isinstance(node, ast.Import) else [ast.alias(node.module or "")])
        }
        assert imports <= set(sys.stdlib_module_names) | {"numpy", "__future__"}, (path, imports)


# --------------------------------------------------------------------------- remote worker


def test_worker_roundtrips_arrays_both_ways_and_survives_chatter() -> None:
    with RemoteWorker(ECHO, kwargs={"greeting": "hi"}) as worker:
        assert worker.call("hello") == "hi"  # prints to stdout and fd 1 in the worker
        deadline = time.monotonic() + 10  # stderr is drained by a thread: the lines arrive soon after
        while "raw chatter" not in worker.stderr_tail() and time.monotonic() < deadline:
            time.sleep(0.01)
        assert "chatter on stdout" in worker.stderr_tail() and "raw chatter on fd 1" in worker.stderr_tail()
        made_there = worker.call("reference_arrays")
        for key, array in remote_echo_handler.reference_arrays().items():
            _assert_same_array(made_there[key], array)
            assert worker.call("digests", {key: array})[key] == remote_echo_handler.digest(array)
        kinds = worker.call("numpy_types", {"f": np.float32(1), "t": (1, [True, None]), "s": "x"})
        assert kinds == {"f": "float32", "t": ["tuple", ["int", ["list", ["bool", "NoneType"]]]], "s": "str"}


def test_worker_reports_handler_exceptions_and_keeps_going() -> None:
    with RemoteWorker(ECHO) as worker:
        with pytest.raises(RemoteCallError, match=r"fail\(\) raised KeyError") as info:
            worker.call("fail", "boom")
        assert info.value.remote_type == "KeyError" and "raise KeyError" in info.value.remote_traceback
        with pytest.raises(RemoteCallError, match="builtin_function_or_method"):
            worker.call("unsendable")
        with pytest.raises(RemoteCallError, match="private"):
            worker.call("_secret")
        assert worker.call("echo", [1]) == [1] and worker.alive


def test_worker_crash_raises_with_stderr_tail_without_hanging() -> None:
    worker = RemoteWorker(ECHO)
    start = time.monotonic()
    with pytest.raises(WorkerDiedError, match="signal 9") as info:
        worker.call("die")
    assert time.monotonic() - start < 10
    assert "about to die horribly" in str(info.value) and info.value.returncode == -9
    assert not worker.alive
    with pytest.raises(RemoteError, match=r"worker is dead \(it died during die\(\)\)"):
        worker.call("echo", 1)
    worker.close()
    worker.close()  # idempotent


def test_interrupted_call_retires_the_worker() -> None:
    """A reply cut off by Ctrl-C would desynchronise the stream: the worker is killed instead."""

    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGALRM, interrupt)
    try:
        with RemoteWorker(ECHO) as worker:
            signal.setitimer(signal.ITIMER_REAL, 0.3)
            with pytest.raises(KeyboardInterrupt):
                worker.call("sleep", 30)
            assert not worker.alive
            with pytest.raises(RemoteError, match=r"unusable after an interrupted sleep\(\)"):
                worker.call("echo", 1)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def test_worker_exit_and_start_failures_are_clear() -> None:
    with RemoteWorker(ECHO) as worker, pytest.raises(WorkerDiedError, match="exit code 3") as info:
        worker.call("exit", 3)
    assert "exiting on purpose" in info.value.stderr_tail
    with pytest.raises(RemoteCallError, match="simulated_benchmark"):
        RemoteWorker(ECHO, kwargs={"fail": True})
    with pytest.raises(WorkerDiedError, match="cannot start the worker interpreter"):
        RemoteWorker(ECHO, python="/nonexistent/bin/python")
    with pytest.raises(ValueError, match=r"path/to/file\.py:ClassName"):
        RemoteWorker("no_colon")


def test_worker_ends_when_parent_dies(tmp_path: Path) -> None:
    script = textwrap.dedent(
        f"""
        import sys, time
        from uio_agent.envs.remote import RemoteWorker
        worker = RemoteWorker({ECHO!r})
        print(worker.pid, flush=True)
        time.sleep(60)
        """
    )
    parent = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    assert parent.stdout is not None
    worker_pid = int(parent.stdout.readline())
    parent.kill()
    parent.wait()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        status = Path(f"/proc/{worker_pid}/status")
        if not status.exists() or "\nState:\tZ" in status.read_text():
            return
        time.sleep(0.05)
    pytest.fail(f"worker {worker_pid} outlived its parent")


def test_local_worker_matches_remote_types() -> None:
    local = LocalWorker(remote_echo_handler.EchoHandler())
    sent = np.arange(4, dtype=np.int64)
    got = local.call("echo", {"a": sent, "t": (1, 2)})
    assert got["t"] == (1, 2) and got["a"] is not sent
    _assert_same_array(got["a"], sent)
    local.close()
    with pytest.raises(RemoteError, match="closed"):
        local.call("echo", 1)


@pytest.mark.skipif(not os.environ.get(NUMPY1_VAR), reason=f"set {NUMPY1_VAR} to an interpreter with numpy<2")
def test_numpy1_worker_exchanges_arrays_byte_exact() -> None:
    python = os.environ[NUMPY1_VAR]
    with RemoteWorker(ECHO, python=python) as worker:
        versions = worker.call("versions")
        assert versions["numpy"].startswith("1."), versions
        made_there = worker.call("reference_arrays")
        for key, array in remote_echo_handler.reference_arrays().items():
            _assert_same_array(made_there[key], array)
            assert worker.call("digests", {key: array})[key] == remote_echo_handler.digest(array)
    env = make_env("vima_bench/rotate@L1", **{**FAKE, "python": python})
    try:
        assert env.backend["numpy"].startswith("1.")
        info, _ = _oracle_episode(env, seed=3)
        assert info["success"]
    finally:
        env.close()


# --------------------------------------------------------------------------- the adapter


@pytest.fixture
def fake_env() -> Any:
    env = make_env("vima_bench/rotate@L1", **FAKE)
    yield env
    env.close()


def test_make_env_runs_a_full_oracle_episode(fake_env: VimaBenchEnv) -> None:
    env = fake_env
    assert isinstance(env, VimaBenchEnv) and env.max_episode_steps == 3 + 2
    assert env.backend["in_process"] is False and env.backend["numpy"] == np.__version__
    assert env.backend["module_file"] == str(HERE / "fake_vima_bench" / "__init__.py")
    obs, info = env.reset(seed=7, options={"oracle": True})
    assert obs in env.observation_space and obs["ee"] == 0 and isinstance(obs["ee"], int)
    assert env.prompt == info["prompt"] == "Rotate the {dragged_obj} 90 degrees."
    asset = info["prompt_assets"]["dragged_obj"]
    assert asset["rgb"]["front"].dtype == np.uint8 and asset["rgb"]["front"].shape == (3, 128, 256)
    assert asset["segm"]["obj_info"] == {"obj_id": 0, "obj_name": "letter A", "obj_color": "red"}
    assert info["success"] is False and info["failure"] is False and info["seed"] == 7
    oracle = env.oracle()
    action = oracle.act(obs)
    assert action is not None and all(a.dtype == np.float32 for a in action.values())
    obs, reward, terminated, truncated, info = env.step(action)
    assert terminated and not truncated and reward == 0.0
    assert info["success"] and not info["failure"] and info["failure_reason"] is None
    assert info["fake_skip_oracle"] is False and info["elapsed_steps"] == 1  # oracle bookkeeping on
    assert oracle.act(obs) is None  # nothing left to do
    assert env.oracle_act() is None  # the same, as a plain method for VectorEnv.call
    _, info = env.reset(seed=7)
    _, _, _, _, info = env.step(env.oracle().act(None))
    assert info["fake_skip_oracle"] is True  # agents step with VIMA's default skip_oracle=True


def test_spaces_match_vima_bench(fake_env: VimaBenchEnv) -> None:
    obs_space, act_space = fake_env.observation_space, fake_env.action_space
    assert isinstance(obs_space, gym.spaces.Dict) and isinstance(act_space, gym.spaces.Dict)
    for view in ("front", "top"):
        assert obs_space["rgb"][view] == gym.spaces.Box(0, 255, (3, 128, 256), np.uint8)
        assert obs_space["segm"][view] == gym.spaces.Box(0, 255, (128, 256), np.uint8)
    assert obs_space["ee"] == gym.spaces.Discrete(2)
    position = gym.spaces.Box(np.float32([0.25, -0.5]), np.float32([0.75, 0.5]), (2,), np.float32)
    for pose in ("pose0", "pose1"):
        assert act_space[f"{pose}_position"] == position
        assert act_space[f"{pose}_rotation"] == gym.spaces.Box(-1, 1, (4,), np.float32)


def test_portable_keeps_keys_hashable() -> None:
    from uio_agent.envs.adapters.vima_bench_worker import portable

    class Profile(enum.Enum):
        ROUND = 1

    value = {np.int64(5): 1, (1, np.int32(2)): [2, (3, 4)], Profile.ROUND: print, object: 3}
    assert portable(value) == {5: 1, (1, 2): [2, [3, 4]], 1: None, str(object): 3}


def test_meta_info_is_stripped_to_serialisable_fields(fake_env: VimaBenchEnv) -> None:
    fake_env.reset(seed=1)
    meta = fake_env.meta_info
    assert meta["action_bounds"] == {"low": [0.25, -0.5], "high": [0.75, 0.5]}
    info = meta["obj_id_to_info"][5]  # body ids stay integer keys
    assert info["obj_replace_fn"] is None and info["obj_pose_transform_fn"] is None
    assert info["obj_template_file"] == "/site-packages/assets/kitting.urdf"
    assert info["obj_size_range"] == {"low": [0.08, 0.08, 0.02], "high": [0.09, 0.09, pytest.approx(0.02)]}
    assert info["obj_profile"] == 1 and isinstance(info["obj_symmetry"], float)
    assert info["obj_scale"] == pytest.approx([0.08, 0.08, 0.02])
    assert info["texture_color_value"] == [1.0, 0.3, 0.3]
    import json

    json.dumps({str(k): v for k, v in meta["obj_id_to_info"].items()})


def test_check_env_passes(fake_env: VimaBenchEnv) -> None:
    check_env(fake_env, skip_render_check=True)


def test_same_seed_same_episode(fake_env: VimaBenchEnv) -> None:
    first, _ = fake_env.reset(seed=11)
    again, _ = fake_env.reset(seed=11)
    other, _ = fake_env.reset(seed=12)
    assert np.array_equal(first["rgb"]["top"], again["rgb"]["top"])
    assert not np.array_equal(first["rgb"]["top"], other["rgb"]["top"])


def test_actions_are_cast_and_clipped(fake_env: VimaBenchEnv) -> None:
    fake_env.reset(seed=2)
    action = {
        "pose0_position": [0.1, 0.0],  # python floats (float64): cast to float32, x clipped to 0.25
        "pose0_rotation": np.array([0, 0, 0, 1.5]),
        "pose1_position": np.array([0.5, 0.0], dtype=np.float64),
        "pose1_rotation": np.array([0, 0, 0, 1], dtype=np.float32),
    }
    *_, info = fake_env.step(action)
    assert info["action_clipped"] is True
    action["pose0_position"], action["pose0_rotation"] = [0.3, 0.1], [0, 0, 0, 1]
    *_, info = fake_env.step(action)
    assert info["action_clipped"] is False


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda a: a.pop("pose1_rotation"), "missing key 'pose1_rotation'"),
        (lambda a: a.update(pose0_position=[0.5, 0.0, 0.1]), r"action\['pose0_position'\] has shape \(3,\)"),
        (lambda a: a.update(pose1_position=[math.nan, 0.0]), r"action\['pose1_position'\] is not finite"),
        (lambda a: a.update(pose0_rotation=[0, 0, math.inf, 1]), r"action\['pose0_rotation'\] is not finite"),
        (
            lambda a: a.update(pose0_rotation=["a", "b", "c", "d"]),
            r"action\['pose0_rotation'\] is not numeric",
        ),
        (lambda a: a.update(gripper=[1.0]), r"unknown keys \['gripper'\]"),
    ],
)
def test_malformed_actions_raise_value_error_naming_the_key(
    fake_env: VimaBenchEnv, change: Any, message: str
) -> None:
    fake_env.reset(seed=0)
    action = {k: v.copy() for k, v in fake_env.action_space.sample().items()}
    change(action)
    with pytest.raises(ValueError, match=message):
        fake_env.step(action)
    with pytest.raises(ValueError, match="must be a dict"):
        fake_env.step([0.5, 0.0])  # type: ignore[arg-type]


def test_step_before_reset_and_unknown_options(fake_env: VimaBenchEnv) -> None:
    with pytest.raises(RuntimeError, match="reset"):
        fake_env.step(fake_env.action_space.sample())
    with pytest.raises(ValueError, match="unknown reset options"):
        fake_env.reset(options={"render": True})


def test_budget_truncates_at_oracle_max_steps_plus_two(fake_env: VimaBenchEnv) -> None:
    fake_env.reset(seed=4)
    idle = {  # picks empty table: nothing moves, the episode neither succeeds nor fails
        "pose0_position": np.float32([0.74, 0.49]),
        "pose0_rotation": np.float32([0, 0, 0, 1]),
        "pose1_position": np.float32([0.74, 0.49]),
        "pose1_rotation": np.float32([0, 0, 0, 1]),
    }
    for step in range(1, 6):
        _, _, terminated, truncated, info = fake_env.step(idle)
        assert not terminated and truncated == (step == 5) and info["elapsed_steps"] == step


def test_budget_is_read_at_construction() -> None:
    with make_env("vima_bench/follow_motion@L4", **FAKE) as env:
        assert env.max_episode_steps == 4 + 2  # VIMA's evaluation: TimeLimit built before the reset
        env.reset(seed=0)
        assert env.oracle_max_steps == 2 and env.unwrapped.task.oracle_max_steps == 2
        assert env.max_episode_steps == 6


def test_failure_terminates(fake_env: VimaBenchEnv) -> None:
    obs, _ = fake_env.reset(seed=5)
    action = fake_env.oracle().act(obs)
    assert action is not None
    action["pose1_position"] = np.float32([0.5, -0.48])
    _, _, terminated, truncated, info = fake_env.step(action)
    assert terminated and not truncated and info["failure"] and not info["success"]
    assert info["failure_reason"] == "VIMA-Bench reported a failure"


def test_reset_retries_with_the_next_seed() -> None:
    env = make_env("vima_bench/rotate@L1", task_kwargs={"fail_reset_seeds": [10, 11]}, **FAKE)
    try:
        _, info = env.reset(seed=10)
        assert info["seed"] == 12 and info["reset_attempts"] == 3 and env.meta_info["seed"] == 12
        assert info["reset_errors"] == [
            "RuntimeError: fake placement failed for seed 10",
            "RuntimeError: fake placement failed for seed 11",
        ]
        _, info = env.reset(seed=12)
        assert info["reset_attempts"] == 1 and "reset_errors" not in info
    finally:
        env.close()
    env = make_env("vima_bench/rotate", task_kwargs={"fail_reset_seeds": [0, 1]}, reset_retries=2, **FAKE)
    try:
        with pytest.raises(RemoteCallError, match=r"reset failed 2 times \(seeds \[0, 1\]\)"):
            env.reset(seed=0)
        with pytest.raises(RuntimeError, match=r"call reset\(\) before step\(\)"):
            env.step(env.action_space.sample())
        assert env.reset(seed=2)[1]["seed"] == 2  # the worker survives a failed reset
    finally:
        env.close()


def test_level_selects_partition_kwargs_and_rejects_foreign_tasks() -> None:
    with pytest.raises(RemoteCallError, match="not part of level 'novel_object_generalization'") as info:
        make_env("vima_bench/sweep_without_exceeding@L3", **FAKE)
    assert info.value.remote_type == "ValueError"
    with pytest.raises(ValueError, match="unknown level 'L9'"):
        make_env("vima_bench/rotate@L9", module="fake_vima_bench")  # in-process: the plain exception
    with pytest.raises(ValueError, match="names a whole level"):
        make_env("vima_bench@L1", **FAKE)


def test_levels_expand_to_vima_bench_tasks() -> None:
    l1 = expand_env_name("vima_bench@L1")
    assert len(l1) == 13 and EnvName("vima_bench", "rotate", "placement_generalization") in l1
    l3 = [n.task for n in expand_env_name("vima_bench@L3")]
    assert len(l3) == 12 and "sweep_without_exceeding" not in l3
    l4 = {n.task for n in expand_env_name("vima_bench@L4")}
    assert l4 == {"sweep_without_touching", "novel_adj_and_noun", "follow_motion", "same_texture"}
    assert len(expand_env_name("vima_bench")) == 13 + 13 + 12 + 4
    assert expand_env_name("vima_bench/rotate@L2") == [EnvName.parse("vima_bench/rotate@L2")]


def test_worker_crash_mid_episode_is_reported_without_hanging() -> None:
    env = make_env("vima_bench/rotate@L1", task_kwargs={"crash_on_step": 2}, **FAKE)
    obs, _ = env.reset(seed=0)
    idle = {k: np.asarray(v) for k, v in env.oracle().act(obs).items()}
    idle["pose0_position"] = np.float32([0.74, 0.49])
    env.step(idle)
    start = time.monotonic()
    with pytest.raises(WorkerDiedError, match=r"died during step\(\) \(signal 9\)"):
        env.step(idle)
    assert time.monotonic() - start < 10
    with pytest.raises(RemoteError, match="worker is dead"):
        env.reset(seed=1)
    env.close()
    env.close()


def test_missing_benchmark_gives_actionable_error(tmp_path: Path) -> None:
    with pytest.raises(
        VimaBenchUnavailableError, match=r"cannot import 'no_such_bench'.*python=.*UIO_AGENT_VIMA_PYTHON"
    ):
        make_env("vima_bench/rotate@L1", python=sys.executable, module="no_such_bench")
    with pytest.raises(VimaBenchUnavailableError, match=r"not importable in this interpreter.*python="):
        make_env("vima_bench/rotate@L1", module="no_such_bench")
    with pytest.raises(VimaBenchUnavailableError, match="could not start in /nonexistent/python"):
        make_env("vima_bench/rotate@L1", python="/nonexistent/python", module="no_such_bench")
    broken = tmp_path / "numpy"  # an interpreter whose numpy cannot load dies before the handshake
    broken.mkdir()
    (broken / "__init__.py").write_text("raise ImportError('numpy C-extensions failed to load')\n")
    with pytest.raises(VimaBenchUnavailableError, match="numpy C-extensions failed to load"):
        make_env("vima_bench/rotate@L1", python=sys.executable, worker_env={"PYTHONPATH": str(tmp_path)})


def test_env_var_names_the_interpreter(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(adapter.PYTHON_ENV_VAR, sys.executable)
    with make_env("vima_bench/rotate@L1", module="fake_vima_bench", worker_env=WORKER_ENV) as env:
        assert isinstance(env._worker, RemoteWorker)
        assert env.reset(seed=0)[1]["seed"] == 0


def test_in_process_when_the_benchmark_imports_here() -> None:
    env = make_env("vima_bench/rotate@L1", module="fake_vima_bench")  # tests/ is on sys.path
    try:
        assert env.backend["in_process"] is True
        with pytest.raises(RuntimeError, match="one environment per process"):
            make_env("vima_bench/rotate@L1", module="fake_vima_bench")
        info, steps = _oracle_episode(env, seed=9)
        assert info["success"] and steps == 1
    finally:
        env.close()
    with make_env("vima_bench/rearrange@L1", module="fake_vima_bench") as env:  # closing freed the slot
        info, steps = _oracle_episode(env, seed=9)
        assert info["success"] and steps == 2


def test_render_stacks_the_views() -> None:
    with make_env("vima_bench/rotate@L1", render_mode="rgb_array", **FAKE) as env:
        assert env.render() is None
        obs, _ = env.reset(seed=0)
        frame = env.render()
        assert frame is not None and frame.shape == (256, 256, 3)
        assert np.array_equal(frame[:128], obs["rgb"]["front"].transpose(1, 2, 0))
