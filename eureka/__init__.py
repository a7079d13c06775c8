"""eureka: an agent that writes reward functions for reinforcement learning."""

__version__ = "0.1.0"
