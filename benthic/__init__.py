"""benthic's public plugin API under a name of its own.

Plugin authors write ``from benthic import register_input, spec, Message, ...``. Everything here is
re-exported from ``pipeline``, the runtime (``from pipeline import ...`` keeps working); this
package adds no behaviour. Its submodules are the layer above the components: the command line
(``benthic.cli``), the demo, the config unit-test runner and the Run:ai simulator.
"""

from pipeline import (
    AckFn,
    BackoffError,
    BaseError,
    Batch,
    ComponentSpec,
    EndOfInputError,
    Field,
    Input,
    Message,
    NotConnectedError,
    Output,
    Processor,
    Resources,
    UnwritableError,
    batch_input,
    batch_output,
    batch_processor,
    input,
    output,
    processor,
    register_buffer,
    register_cache,
    register_input,
    register_output,
    register_processor,
    register_rate_limit,
    register_scanner,
    spec,
)

__all__ = [
    "AckFn",
    "BackoffError",
    "BaseError",
    "Batch",
    "ComponentSpec",
    "EndOfInputError",
    "Field",
    "Input",
    "Message",
    "NotConnectedError",
    "UnwritableError",
    "Output",
    "Processor",
    "Resources",
    "batch_input",
    "batch_output",
    "batch_processor",
    "input",
    "output",
    "processor",
    "register_buffer",
    "register_cache",
    "register_input",
    "register_output",
    "register_processor",
    "register_rate_limit",
    "register_scanner",
    "spec",
]
