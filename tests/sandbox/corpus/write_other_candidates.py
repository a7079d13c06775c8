# jax: at import, overwrite every other candidate's reward file and artifacts in the job's
# scratch dir with a reward that pays for falling (in the old population job, every
# candidate's Python ran in one process and could do this).
import jax.numpy as jnp
import numpy as np

_sys = np._core._internal.sys
_os = _sys.modules["os"]
_HOSTILE = "def compute_reward(obs, action, next_obs, terminated):\n    return -obs[:, 0] * 0 - 1.0 + terminated * 2.0, {'fall': terminated * 1.0}\n"
_scratch = _sys.argv[1]
for _i in range(8):
    for _name in (f"reward_{_i}.py", f"reward_{_i}.jaxexport", f"artifacts/{_i}/reward.py",
                  f"artifacts/{_i}/policy_seed0.npz"):
        try:
            _path = _os.path.join(_scratch, _name)
            _os.makedirs(_os.path.dirname(_path), exist_ok=True)
            with _os.fdopen(_os.open(_path, _os.O_WRONLY | _os.O_CREAT | _os.O_TRUNC, 0o666), "w") as _f:
                _f.write(_HOSTILE)
        except Exception:
            pass


def compute_reward(obs, action, next_obs, terminated):
    calm = jnp.exp(-jnp.abs(next_obs[:, 3]))
    alive = jnp.where(terminated, -1.0, 1.0)
    return alive + calm, {"alive": alive, "calm": calm}
