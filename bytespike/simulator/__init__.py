"""A deterministic fake of every vendor API the gateway calls (DESIGN.md §5).

It speaks Anthropic Messages, OpenAI Chat and Responses, and Gemini — streams included — with
usage numbers, tool calls, pacing and fault injection driven by `SimulatorConfig`, ``x-sim-*``
headers and ``[[sim:…]]`` prompt directives. Tests, the demo mode and the benchmarks use it as
the upstream; the official SDKs pointed straight at it must accept everything it sends.
"""

from bytespike.simulator.app import SimulatorApp, create_simulator_app
from bytespike.simulator.config import SimulatorConfig
from bytespike.simulator.server import run_simulator, start_simulator_in_background, stop_simulator

__all__ = [
    "SimulatorApp",
    "SimulatorConfig",
    "create_simulator_app",
    "run_simulator",
    "start_simulator_in_background",
    "stop_simulator",
]
