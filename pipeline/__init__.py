"""benthic's engine and plugin API.

The public surface for plugin authors::

    from pipeline import (Message, ComponentSpec, register_input, register_processor,
                          register_output, input, processor, output, EndOfInputError, ...)
    from pipeline import spec  # field constructors: spec.string(...), spec.integer(...), ...
"""

from pipeline import spec
from pipeline.errors import (
    BackoffError,
    BaseError,
    BatchError,
    EndOfInputError,
    NotConnectedError,
    UnwritableError,
)
from pipeline.message import Batch, Message
from pipeline.plugin import (
    AckFn,
    Input,
    Output,
    Processor,
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
)
from pipeline.resources import Resources
from pipeline.spec import ComponentSpec, Field

__all__ = [
    "AckFn",
    "BackoffError",
    "BatchError",
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
