"""Make a trained folder loadable the way Hub users load custom models: ``trust_remote_code=True``.

A folder written by ``save_pretrained`` names ``model_type = genobench_lstm`` etc., which transformers
knows only after ``import genobench_hf.models``. Custom models on the Hub ship their classes beside the
weights and name them in ``config.json``'s ``auto_map``; this module does the same: it copies this
package's configuration, layers, modeling and tokenizer modules into the folder as self-contained files
(imports rewritten to relative ones, genobench's error class replaced by a local one) and writes the
``auto_map``. So, in an interpreter that never imports genobench_hf,
``AutoModelForCausalLM.from_pretrained(folder, trust_remote_code=True)`` works; with genobench_hf
imported, the native registration is used and no remote code runs.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

_HERE = Path(__file__).parent
#: package module -> file written into the model folder
FILES = {
    "configuration": "configuration_genobench.py",
    "layers": "layers_genobench.py",
    "modeling": "modeling_genobench.py",
    "tokenizer": "tokenizer_genobench.py",
}
_ERRORS = "errors_genobench.py"
_ERRORS_SOURCE = '''"""A stand-in for genobench_hf.errors.ModelError, so that these files need only torch and transformers."""


class ModelError(ValueError):
    """A model or input that cannot be used as configured."""
'''


def _rewrite(source: str) -> str:
    """Imports of genobench_hf modules -> relative imports of the copied files."""
    source = source.replace(
        "from genobench_hf.errors import ModelError", "from .errors_genobench import ModelError"
    )
    for module, file in FILES.items():
        source = re.sub(
            rf"from genobench_hf\.models\.{module} import", f"from .{file.removesuffix('.py')} import", source
        )
    leftover = [ln for ln in source.splitlines() if re.match(r"\s*(from|import) genobench_hf", ln)]
    if leftover:  # a new import in the model code that this module does not know how to carry
        raise RuntimeError(f"cannot make the model code self-contained: {leftover}")
    return source


def write_remote_code(folder: str | Path, model: Any) -> dict[str, str]:
    """Copy the model code into ``folder`` and add ``auto_map`` to its ``config.json``; returns the map."""
    folder = Path(folder)
    for module, file in FILES.items():
        (folder / file).write_text(
            _rewrite((_HERE / f"{module}.py").read_text(encoding="utf-8")), encoding="utf-8"
        )
    (folder / _ERRORS).write_text(_ERRORS_SOURCE, encoding="utf-8")
    config_cls = type(model.config).__name__
    auto = (
        "AutoModelForMaskedLM"
        if getattr(model.config, "objective", "clm") == "mlm"
        else "AutoModelForCausalLM"
    )
    auto_map = {
        "AutoConfig": f"configuration_genobench.{config_cls}",
        auto: f"modeling_genobench.{type(model).__name__}",
    }
    path = folder / "config.json"
    config = json.loads(path.read_text(encoding="utf-8"))
    config["auto_map"] = auto_map
    path.write_text(json.dumps(config, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return auto_map


def is_native(config: dict[str, Any]) -> bool:
    """True for a genobench model folder: its ``auto_map`` code is genobench's own, registered natively."""
    return str(config.get("model_type", "")).startswith("genobench") and all(
        str(v).split(".")[0] in {f.removesuffix(".py") for f in FILES.values()}
        for v in (config.get("auto_map") or {}).values()
    )
