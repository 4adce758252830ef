"""Exception types that carry a message fit to show a user as it is."""


class BiasvizError(Exception):
    """Base class: an error whose message is meant for the user (no traceback needed)."""


class DatasetError(BiasvizError):
    """A dataset could not be loaded: missing, corrupt or wrong-shaped files, download failure."""


class DownloadCancelled(DatasetError):
    """The user cancelled a dataset download."""


class ParamFileError(BiasvizError):
    """A parameter file could not be written or read back into a model."""


class ImageError(BiasvizError):
    """An image file could not be read or turned into a 28x28 model input."""


class ConfigError(BiasvizError):
    """An impossible combination of settings (e.g. a single neuron on a ten-class task)."""
