"""CLI command groups. Each module defines ``register(app)`` adding its commands to the typer app.

Commands stay thin: parse options, call one public library function, print a summary.
"""

from synthapt.commands import (campaign, data, emulate, reconstruct, score, segment, simulate,
                               train, weights)

COMMAND_MODULES = [data, campaign, score, weights, emulate, reconstruct, simulate, segment, train]
