"""A stand-in for genobench_hf.errors.ModelError, so that these files need only torch and transformers."""


class ModelError(ValueError):
    """A model or input that cannot be used as configured."""
