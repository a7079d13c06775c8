"""Every critic rejection kind, with the probe run in the real sandbox."""

from __future__ import annotations

import pytest

from eureka.critic.checks import Critic, extract_code, static_problems
from eureka.envs import sample_transitions, space_info
from eureka.sandbox import SandboxLimits
from eureka.task import EnvSpec

GOOD = """import numpy as np

def compute_reward(obs, action, next_obs, terminated):
    upright = 1.0 - np.abs(next_obs[:, 2]) / 0.2095
    alive = np.where(terminated, -1.0, 1.0)
    return alive + upright, {"alive": alive, "upright": upright}
"""


def fenced(code: str, lang: str = "python", fence: str = "```") -> str:
    return f"Here is my reward.\n\n{fence}{lang}\n{code}{fence}\n"


@pytest.fixture(scope="module")
def space():
    return space_info(EnvSpec(id="CartPole-v1"))


@pytest.fixture(scope="module")
def critic(sandbox, space):
    transitions = sample_transitions(EnvSpec(id="CartPole-v1"), 128, seed=1)
    return Critic(sandbox, space, transitions, SandboxLimits(timeout_s=20, memory_mb=1024))


class TestExtraction:
    def test_no_block_gives_none(self) -> None:
        assert extract_code("I would reward the pole for staying up.") is None

    def test_language_tags_and_longer_fences(self) -> None:
        assert extract_code(fenced(GOOD, "py")) == GOOD
        assert extract_code(fenced(GOOD, "python", "````")) == GOOD

    def test_prefers_the_block_defining_the_function(self) -> None:
        reply = fenced(GOOD) + "\nUsage:\n```python\nprint(compute_reward)\n```\n"
        assert extract_code(reply) == GOOD


class TestStatic:
    @pytest.mark.parametrize("code, expected", [
        ("def compute_reward(obs, action, next_obs, terminated)\n    pass\n", "SyntaxError"),
        ("def reward(obs, action, next_obs, terminated):\n    pass\n", "must define a top-level function"),
        ("def compute_reward(obs, action):\n    pass\n", "must take exactly the parameters"),
        ("import os\n" + GOOD, "import of 'os' is not allowed"),
        ("from subprocess import run\n" + GOOD, "import from 'subprocess' is not allowed"),
        (GOOD.replace("return", "open('/etc/passwd')\n    return"), "use of 'open' is not allowed"),
        (GOOD.replace("return", "eval('1')\n    return"), "use of 'eval' is not allowed"),
        (GOOD.replace("return", "x = np.__class__\n    return"), "attribute '__class__' is not allowed"),
        (GOOD.replace("next_obs[:, 2]", "next_obs[:, 4]"), "next_obs[:, 4] is out of range"),
        (GOOD.replace("next_obs[:, 2]", "obs[:, -5]"), "obs[:, -5] is out of range"),
    ])
    def test_rejections(self, space, code: str, expected: str) -> None:
        problems = static_problems(code, space)
        assert any(expected in p for p in problems), problems

    def test_good_code_has_no_static_problem(self, space) -> None:
        assert static_problems(GOOD, space) == []


class TestProbe:
    def test_good_reward_passes_with_its_components(self, critic) -> None:
        code, verdict = critic.check_reply(fenced(GOOD))
        assert verdict.accepted, verdict.problems
        assert verdict.components == ["alive", "upright"]
        assert verdict.sandbox_verdict == "ok"

    @pytest.mark.parametrize("change, expected", [
        (("alive + upright", "alive * np.nan"), "NaN or infinite"),
        (("alive + upright", "np.sum(alive)"), "must have shape (128,)"),
        (("alive + upright", "(alive + upright)[:, None]"), "must have shape (128,)"),
        (('{"alive": alive, "upright": upright}', "{}"), "components dict is empty"),
        (('{"alive": alive, "upright": upright}', "[alive]"), "components must be a dict"),
        (('"upright": upright}', '"upright": upright[:5]}'), "component 'upright' has shape (5,)"),
        (("return alive + upright,", "return 1 / 0,"), "ZeroDivisionError"),
        (("return alive + upright, {\"alive\": alive, \"upright\": upright}", "return alive"),
         "must return a tuple"),
    ])
    def test_rejections(self, critic, change, expected: str) -> None:
        code = GOOD.replace(*change)
        assert code != GOOD
        verdict = critic.check_code(code)
        assert not verdict.accepted
        assert verdict.stage == "probe"
        assert any(expected in p for p in verdict.problems), verdict.problems

    def test_import_time_error_is_reported(self, critic) -> None:
        verdict = critic.check_code("import numpy as np\nX = np.zeros(3)[7]\n" + GOOD.split("\n", 1)[1])
        assert not verdict.accepted
        assert "importing the reward failed: IndexError" in verdict.problems[0]

    def test_endless_loop_is_a_timeout(self, sandbox, space) -> None:
        transitions = sample_transitions(EnvSpec(id="CartPole-v1"), 16)
        critic = Critic(sandbox, space, transitions, SandboxLimits(timeout_s=3, memory_mb=512))
        code = GOOD.replace("return", "while True:\n        pass\n    return")
        verdict = critic.check_code(code)
        assert verdict.sandbox_verdict == "timeout"
        assert "timeout" in verdict.problems[0]


class TestAutoRepair:
    def test_import_slips_and_missing_imports_are_fixed(self, space) -> None:
        from eureka.critic.repair import repair_source

        code, fixes = repair_source("import jnp\n" + GOOD.split("\n", 1)[1], space)
        assert "import numpy as np" in code and "import jnp" not in code.splitlines()
        assert any("import numpy as np" in f for f in fixes)

    def test_cut_off_code_is_trimmed_to_its_last_complete_statement(self, space) -> None:
        from eureka.critic.repair import repair_source

        cut = GOOD + "\ndef helper(x):\n    return np.clip(x, 0, "
        code, fixes = repair_source(cut, space)
        assert code.strip() == GOOD.strip()
        assert any("trimmed" in f for f in fixes)

    def test_scalar_and_column_outputs_are_broadcast_and_recorded(self, critic) -> None:
        scalar = GOOD.replace('return alive + upright, {"alive": alive, "upright": upright}',
                              'bonus = 0.5\n    return (alive + upright)[:, None], {"alive": alive, "bonus": bonus}')
        code, verdict = critic.check_reply(fenced(scalar))
        assert verdict.accepted, verdict.problems
        assert verdict.fixes == ["broadcast or squeezed a scalar or (N, 1) output to shape (N,)"]
        assert "_eureka_unrepaired_reward" in code

    def test_meaningful_shape_errors_are_not_repaired(self, critic) -> None:
        broadcast = GOOD.replace("alive + upright,", "alive[:, None] + upright,")
        _, verdict = critic.check_reply(fenced(broadcast))
        assert not verdict.accepted
        assert verdict.problems[0].startswith("the total reward has shape (128, 128)")
