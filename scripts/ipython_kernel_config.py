# Installed by `make setup` as .venv/etc/ipython/ipython_kernel_config.py: every kernel of the study's environment
# (papermill's runs, `jupyter nbconvert --execute`, the book build, JupyterLab) reads it.
#
# ipykernel warns on every start that its local TCP sockets are unencrypted ("Kernel is running over TCP without
# encryption..."): true of every local Jupyter kernel, and nothing a user of this study can act on. Drop that one
# message; every other warning of the kernel stays.
import logging


class _NoTcpEncryptionWarning(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return "running over TCP without encryption" not in record.getMessage()


logging.getLogger("IPKernelApp").addFilter(_NoTcpEncryptionWarning())
