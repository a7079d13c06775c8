"""A user package that registers its env under an id (env.register: asset_pkg) and reads an asset file
whose folder the task lists in env.paths."""

import gymnasium as gym

gym.register("AssetLine-v0", entry_point="asset_pkg.line:AssetLine", max_episode_steps=50)
