# ruff: noqa: B018, F821 - a vulture whitelist is bare attribute references by design
"""Names vulture reports as unused that are used from outside this repository, or by Python.

    vulture pipeline inputs processors outputs benthic mapping_lang tests bench tools \
        tools/vulture_whitelist.py --exclude tests/plugin_pkg/build

Each entry says why it stays. Anything else vulture reports is dead code.
"""

from pipeline.config.yaml_reader import _Loader
from pipeline.logs import Logger
from pipeline.message import Message
from pipeline.metrics import Gauge
from pipeline.spec import ComponentSpec, Field

# plugin API: ``res.logger`` and the metric handles are what plugins log and count with
Logger.trace
Logger.fatal
Gauge.decr
Message.from_structured
# plugin API: keyword arguments of the spec constructors, accepted for upstream's spec shape
Field.examples
ComponentSpec.examples
ComponentSpec.categories
# PyYAML calls this override of its Composer method
_Loader.compose_document
# attributes of the standard library's tarfile.TarInfo and zipfile.ZipInfo, read by tarfile/zipfile
_.mtime
_.compress_type
_.external_attr
